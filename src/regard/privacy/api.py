from __future__ import annotations

from datetime import datetime

from ninja import Field, Query, Router, Schema
from pydantic import AliasChoices

from regard.api.auth import ApiRequest, requires
from regard.api.schemas import ModelOut
from regard.privacy.roles import Capability
from regard.privacy.selectors import audit_list

router = Router(tags=["audit"])


class AuditEntryOut(ModelOut):
    id: int
    actor: str = Field(validation_alias=AliasChoices("actor_label", "actor"))
    action: str
    customer_id: int | None
    object_type: str
    object_id: str
    via: str
    occurred_at: datetime


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
