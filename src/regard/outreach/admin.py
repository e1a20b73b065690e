from django.contrib import admin

from regard.outreach.models import InboundFeedback


@admin.register(InboundFeedback)
class InboundFeedbackAdmin(admin.ModelAdmin):
    """Bounces, complaints and unsubscribe mail as received; written only by outreach.feedback."""

    list_display = ("received_at", "kind", "status", "rcpt_to", "outbox_message_id", "customer_id", "detail")
    list_filter = ("kind", "status")
    readonly_fields = [field.name for field in InboundFeedback._meta.fields]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
