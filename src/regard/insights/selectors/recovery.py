"""Reading the recovery worklist, worst and most recent first (C6, S24)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Sum
from django.utils import timezone

from regard.customers.models import Customer
from regard.errors import InvalidInput, NotFound
from regard.insights.models import RecoveryItem
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record_reads

STATES = ("open", "claimed", "closed", "active")


@dataclass(frozen=True)
class WorklistRow:
    item: RecoveryItem
    value: float
    score: float

    @property
    def is_overdue(self) -> bool:
        return self.item.state == RecoveryItem.State.OPEN and self.item.escalated_at is not None


def _score(item: RecoveryItem, value: float, now: datetime) -> float:
    # How bad counts most, then how recent (a point a day), then what the customer has bought with us.
    days_ago = max(0.0, (now - item.occurred_at).total_seconds() / 86400)
    return item.severity * 10 - days_ago + min(value / 100, 5)


def recovery_worklist(
    *, actor: AnyUser, state: str = "active", limit: int = 200, via: str = "web", now: datetime | None = None
) -> list[WorklistRow]:
    access.require(actor, Capability.RECOVERY_WORK)
    if state not in STATES:
        raise InvalidInput(f"state: one of {', '.join(STATES)}.", field="state")
    now = now or timezone.now()
    items = RecoveryItem.objects.select_related("customer", "claimed_by", "closed_by")
    items = items.exclude(state=RecoveryItem.State.CLOSED) if state == "active" else items.filter(state=state)
    found = list(items.order_by("-occurred_at")[:limit])
    values = customer_value(sorted({i.customer_id for i in found}))
    rows = [WorklistRow(item=i, value=values.get(i.customer_id, 0.0), score=0.0) for i in found]
    rows = [WorklistRow(item=r.item, value=r.value, score=_score(r.item, r.value, now)) for r in rows]
    rows.sort(key=lambda r: r.score, reverse=True)
    # The list names people: a personal-data read, audited per customer shown (invariant 6).
    audit_record_reads(
        actor=actor, customer_ids=sorted({r.item.customer_id for r in rows}), object_type="recovery", via=via
    )
    return rows


def recovery_item_get(*, actor: AnyUser, item_id: int) -> RecoveryItem:
    access.require(actor, Capability.RECOVERY_WORK)
    item = RecoveryItem.objects.select_related("customer").filter(pk=item_id).first()
    if item is None:
        raise NotFound(f"No recovery item with id {item_id}.", field="id")
    return item


def customer_value(customer_ids: list[int]) -> dict[int, float]:
    """What each customer bought, in their orders' amounts, to rank equal troubles (S24)."""
    rows = (
        Customer.objects.filter(pk__in=customer_ids)
        .annotate(value=Sum(F("orders__lines__quantity") * F("orders__lines__unit_price")))
        .values_list("pk", "value")
    )
    return {pk: float(value or 0) for pk, value in rows}
