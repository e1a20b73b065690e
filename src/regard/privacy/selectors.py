from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from regard.privacy import access
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Capability


def audit_list(*, actor: User | AnonymousUser, customer_id: int | None = None) -> QuerySet[AuditEntry]:
    access.require(actor, Capability.AUDIT_READ)
    entries = AuditEntry.objects.all()
    if customer_id is not None:
        entries = entries.filter(customer_id=customer_id)
    return entries
