"""``POST /api/v1/events``: integrators report what a customer did; journeys react."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from ninja import Field, Router, Status

from regard.api.auth import ApiRequest, requires
from regard.customers import selectors as customer_selectors
from regard.customers.models import Customer
from regard.customers.schemas import CustomerRefIn, StrictIn
from regard.errors import InvalidInput, NotFound
from regard.outreach import events
from regard.privacy.access import AnyUser
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


def _event_customer(actor: AnyUser, ref: CustomerRefIn) -> Customer:
    # event_record audits the event it writes: finding the customer is not a read of the profile.
    if ref.id is not None:
        customer = customer_selectors.customer_get(
            actor=actor,
            customer_id=ref.id,
            capability=Capability.EVENT_WRITE,
            audit_as=None,
            field="customer.id",
        )
        return customer_selectors.customer_current(customer)
    if ref.kind and ref.value:
        try:
            found = customer_selectors.customer_resolve(kind=ref.kind, value=ref.value)
        except InvalidInput as error:
            field = f"customer.{error.field or 'value'}"
            raise InvalidInput(f"{field}: {error.message.split(': ', 1)[-1]}", field=field) from None
        if found is None:
            raise NotFound(f"customer: no customer has {ref.kind} '{ref.value}'.", field="customer.value")
        return customer_selectors.customer_current(found)
    raise InvalidInput("customer: give either id or kind and value.", field="customer")


@events_router.post(
    "",
    auth=requires(Capability.EVENT_WRITE),
    response={201: EventOut},
    summary="Record a customer event (cart_abandoned, purchase, web.visit, complaint)",
)
def post_event(request: ApiRequest, payload: EventIn) -> Status[EventOut]:
    with transaction.atomic():
        customer = _event_customer(request.auth, payload.customer)
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
