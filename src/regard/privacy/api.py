from __future__ import annotations

from datetime import datetime

from ninja import Query, Router, Schema

from regard.api.auth import ApiRequest, requires
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Capability
from regard.privacy.selectors import audit_list

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    actor: str
    action: str
    customer_id: int | None
    object_type: str
    object_id: str
    via: str
    occurred_at: datetime

    @staticmethod
    def from_model(entry: AuditEntry) -> AuditEntryOut:
        return AuditEntryOut(
            id=entry.pk,
            actor=entry.actor_label,
            action=entry.action,
            customer_id=entry.customer_id,
            object_type=entry.object_type,
            object_id=entry.object_id,
            via=entry.via,
            occurred_at=entry.occurred_at,
        )


class AuditPage(Schema):
    items: list[AuditEntryOut]
    next_before_id: int | None


@router.get(
    "",
    auth=requires(Capability.AUDIT_READ),
    response=AuditPage,
    summary="The audit log, newest first (admins only)",
)
def list_audit(
    request: ApiRequest,
    customer_id: int | None = None,
    before_id: int | None = None,
    limit: int = Query(100, ge=1, le=500),
) -> AuditPage:
    entries = audit_list(actor=request.auth, customer_id=customer_id).order_by("-id")
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    page = list(entries[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return AuditPage(
        items=[AuditEntryOut.from_model(e) for e in page],
        next_before_id=page[-1].pk if more and page else None,
    )
