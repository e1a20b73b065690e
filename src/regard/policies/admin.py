"""The back office for policies: read-mostly; people change them through services."""

from django.contrib import admin

from regard.policies.models import Promise


@admin.register(Promise)
class PromiseAdmin(admin.ModelAdmin):
    list_display = ("what", "kind", "customer", "owner", "state", "due_at")
    list_filter = ("state", "kind")
    raw_id_fields = ("customer", "conversation", "owner", "created_by", "settled_by")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
