from django.contrib import admin

from regard.consent.models import ConsentEvent, PreferenceChange, Suppression


class AppendOnlyAdmin(admin.ModelAdmin):
    """The ledger is read here; consent changes go through the services (invariant 4)."""

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(ConsentEvent)
class ConsentEventAdmin(AppendOnlyAdmin):
    list_display = ("customer_id", "purpose", "channel", "action", "occurred_at", "source")
    list_filter = ("purpose", "channel", "action", "source")


@admin.register(PreferenceChange)
class PreferenceChangeAdmin(AppendOnlyAdmin):
    list_display = ("customer_id", "channels", "max_messages_per_week", "paused_until", "recorded_at")


@admin.register(Suppression)
class SuppressionAdmin(AppendOnlyAdmin):
    list_display = ("identifier_hash", "kind", "reason", "created_at")
    list_filter = ("reason", "kind")
