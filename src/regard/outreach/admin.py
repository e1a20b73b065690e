from django.contrib import admin

from regard.outreach.models import Campaign, InboundFeedback, Journey
from regard.web.admin_base import AuditedReadOnlyAdmin, ReadOnlyAdmin


@admin.register(InboundFeedback)
class InboundFeedbackAdmin(AuditedReadOnlyAdmin):
    """Bounces, complaints and unsubscribe mail as received; written only by outreach.feedback."""

    list_display = ("received_at", "kind", "status", "rcpt_to", "outbox_message_id", "customer_id", "detail")
    list_filter = ("kind", "status")
    readonly_fields = [field.name for field in InboundFeedback._meta.fields]


class BrakeVisibleAdmin(ReadOnlyAdmin):
    """Campaigns and journeys as they run; the anomaly brake's reason is shown in the list (S12).

    Read-only: they change through the API and services, never through admin hooks.
    """


@admin.register(Campaign)
class CampaignAdmin(BrakeVisibleAdmin):
    list_display = ("name", "purpose", "state", "planned_count", "brake_reason", "launched_at")
    list_filter = ("state", "purpose")
    fields = (
        "name",
        "purpose",
        "channel",
        "state",
        "brake_reason",
        "planned_count",
        "subject",
        "body",
        "topics",
    )
    readonly_fields = fields


@admin.register(Journey)
class JourneyAdmin(BrakeVisibleAdmin):
    list_display = ("name", "trigger", "purpose", "is_active", "brake_reason")
    list_filter = ("is_active", "purpose")
    fields = (
        "slug",
        "name",
        "trigger",
        "exit_on",
        "purpose",
        "channel",
        "topics",
        "steps",
        "is_active",
        "brake_reason",
    )
    readonly_fields = fields
