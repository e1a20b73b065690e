"""``POST /api/v1/events``: integrators report what a customer did; journeys react."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from ninja import Field, Router, Status

from regard.api.auth import ApiRequest, requires
from regard.customers import selectors as customer_selectors
from regard.customers.schemas import CustomerRefIn, StrictIn
from regard.outreach import events
from regard.privacy.roles import Capability

events_router = Router(tags=["events"])


class EventIn(StrictIn):
    type: str = Field(min_length=1, max_length=64, examples=["cart_abandoned"])
    customer: CustomerRefIn
    occurred_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class EventOut(StrictIn):
    id: int
    type: str
    customer_id: int
    occurred_at: datetime


@events_router.post(
    "",
    auth=requires(Capability.EVENT_WRITE),
    response={201: EventOut},
    summary="Record a customer event (cart_abandoned, purchase, web.visit, complaint)",
)
def post_event(request: ApiRequest, payload: EventIn) -> Status[EventOut]:
    with transaction.atomic():
        ref = payload.customer
        customer = customer_selectors.customer_by_ref(
            actor=request.auth, id=ref.id, kind=ref.kind, value=ref.value, capability=Capability.EVENT_WRITE
        )
        event = events.event_record(
            actor=request.auth,
            customer=customer,
            type=payload.type,
            occurred_at=payload.occurred_at,
            data=payload.data,
        )
    return Status(
        201, EventOut(id=event.pk, type=event.kind, customer_id=customer.pk, occurred_at=event.occurred_at)
    )
