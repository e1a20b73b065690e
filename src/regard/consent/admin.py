from django.contrib import admin

from regard.consent.models import ConsentEvent, PreferenceChange, Suppression
from regard.web.admin_base import AuditedReadOnlyAdmin, ReadOnlyAdmin

# The ledger is read here; consent changes go through the services (invariant 4).


@admin.register(ConsentEvent)
class ConsentEventAdmin(AuditedReadOnlyAdmin):
    list_display = ("customer_id", "purpose", "channel", "action", "occurred_at", "source")
    list_filter = ("purpose", "channel", "action", "source")


@admin.register(PreferenceChange)
class PreferenceChangeAdmin(AuditedReadOnlyAdmin):
    list_display = ("customer_id", "channels", "max_messages_per_week", "paused_until", "recorded_at")


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):  # keyed by a hash: no person to name
    list_display = ("identifier_hash", "kind", "reason", "created_at")
    list_filter = ("reason", "kind")
