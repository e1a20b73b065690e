"""The support desk in the back office: set-up (teams, SLA policies, chat sites, webhooks) is edited
here; conversations, messages and webhook deliveries are read-only (they change through services)."""

from django import forms
from django.contrib import admin
from django.utils import timezone

from regard.errors import InvalidInput
from regard.support.models import (
    ChatSite,
    Conversation,
    Message,
    SavedReply,
    SlaAlert,
    SlaPolicy,
    Team,
    WebhookDelivery,
    WebhookEndpoint,
)
from regard.support.sla import team_calendar_check
from regard.web.admin_base import AuditedReadOnlyAdmin, ReadOnlyAdmin


class TeamForm(forms.ModelForm):
    """Business hours, zone and country are checked as the SLA timers will read them."""

    class Meta:
        model = Team
        fields = (
            "name",
            "slug",
            "time_zone",
            "country",
            "business_hours",
            "lead",
            "members",
            "support_address",
        )

    def clean(self):  # type: ignore[no-untyped-def]
        cleaned = super().clean() or {}
        try:
            team_calendar_check(
                business_hours=cleaned.get("business_hours") or {},
                time_zone=cleaned.get("time_zone") or "",
                country=cleaned.get("country") or "",
            )
        except InvalidInput as error:
            field = (error.field or "").split(".")[0]
            self.add_error(field if field in self.fields else None, error.message)
        return cleaned


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    list_display = ("name", "slug", "support_address", "time_zone", "country", "lead")
    filter_horizontal = ("members",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "warn_at_percent",
    )
    list_filter = ("team", "kind", "priority")


@admin.register(ChatSite)
class ChatSiteAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "team")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "events", "active")


@admin.register(Conversation)
class ConversationAdmin(AuditedReadOnlyAdmin):
    list_display = (
        "token",
        "subject",
        "channel",
        "kind",
        "status",
        "team",
        "assignee",
        "customer_id",
        "updated_at",
    )
    list_filter = ("channel", "status", "kind", "priority", "team")
    search_fields = ("token", "subject")


@admin.register(Message)
class MessageAdmin(AuditedReadOnlyAdmin):
    """Unreadable mail (parse_error set) is listed here too, with its raw text."""

    customer_field = "conversation.customer_id"
    list_select_related = ("conversation",)

    list_display = ("created_at", "conversation_id", "direction", "sender_address", "parse_error")
    list_filter = ("direction",)
    exclude = ("body_html",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event", "endpoint", "state", "attempts", "next_attempt_at", "last_error")
    list_filter = ("state", "event")


@admin.register(SavedReply)
class SavedReplyAdmin(admin.ModelAdmin):
    """Answers agents start from; the reply check points out one sent unchanged."""

    list_display = ("title", "language", "team")
    list_filter = ("language", "team")
    search_fields = ("title", "body")
    exclude = ("created_at",)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not change:
            obj.created_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(SlaAlert)
class SlaAlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "conversation_id", "target", "stage", "due_at")
    list_filter = ("target", "stage")
