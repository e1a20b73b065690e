"""Customers, identifiers, orders, timelines and merges over HTTP (C1, C8). Thin: services decide."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from ninja import Query, Router, Status

from regard.api.auth import ApiRequest, requires
from regard.customers import selectors, services
from regard.customers.models import Order
from regard.customers.schemas import (
    CustomerFound,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    DeliveryIn,
    IdentifierIn,
    IdentifierOut,
    MergeIn,
    MergeOut,
    OrderIn,
    OrderOut,
    TimelineEventOut,
    TimelinePageOut,
)
from regard.errors import InvalidInput, NotFound
from regard.inputs import OFFSET_MAX
from regard.privacy.roles import Capability

router = Router(tags=["customers"])
orders_router = Router(tags=["orders"])
merges_router = Router(tags=["merges"])


def _profile_changes(payload: CustomerIn | CustomerPatch, *, partial: bool) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=partial, exclude={"identifiers", "address"})
    changes = {k: v for k, v in data.items() if v is not None or partial}
    if partial and changes.get("preferred_name", "") is None:
        raise InvalidInput("preferred_name: must not be null.", field="preferred_name")
    if payload.address is not None:
        address = payload.address.model_dump(exclude_unset=partial)
        changes.update({k: v for k, v in address.items() if v is not None or partial})
    return changes


@router.post(
    "", auth=requires(Capability.CUSTOMER_WRITE), response={201: CustomerOut}, summary="Create a customer"
)
def create_customer(request: ApiRequest, payload: CustomerIn) -> Status[CustomerOut]:
    customer = services.customer_create(
        actor=request.auth,
        identifiers=[services.IdentifierInput(i.kind, i.value) for i in payload.identifiers],
        **_profile_changes(payload, partial=False),
    )
    return Status(201, CustomerOut.from_model(customer))


@router.get(
    "",
    auth=requires(Capability.CUSTOMER_READ),
    response=CustomerPage,
    summary="Search customers by name or any identifier",
)
def search_customers(
    request: ApiRequest,
    q: str = "",
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=OFFSET_MAX),
) -> CustomerPage:
    page = selectors.customer_search(actor=request.auth, query=q, limit=limit, offset=offset)
    identifiers = selectors.identifiers_by_customer([c.pk for c in page.customers])
    return CustomerPage(
        items=[
            CustomerFound(
                **CustomerOut.from_model(c, identifiers.get(c.pk, [])).model_dump(),
                matched=page.matched[c.pk],
            )
            for c in page.customers
        ],
        next_offset=page.next_offset,
    )


@router.get(
    "/resolve",
    auth=requires(Capability.CUSTOMER_READ),
    response=CustomerOut,
    summary="Find the customer behind an identifier",
)
def resolve_customer(request: ApiRequest, kind: str, value: str) -> CustomerOut:
    return CustomerOut.from_model(selectors.customer_resolve_for(actor=request.auth, kind=kind, value=value))


@router.get(
    "/{customer_id}", auth=requires(Capability.CUSTOMER_READ), response=CustomerOut, summary="One customer"
)
def get_customer(request: ApiRequest, customer_id: int) -> CustomerOut:
    return CustomerOut.from_model(selectors.customer_get(actor=request.auth, customer_id=customer_id))


@router.patch(
    "/{customer_id}",
    auth=requires(Capability.CUSTOMER_WRITE),
    response=CustomerOut,
    summary="Change a customer's profile",
)
def update_customer(request: ApiRequest, customer_id: int, payload: CustomerPatch) -> CustomerOut:
    # One transaction: a refused write leaves no trace, not even the audit of the read before it.
    with transaction.atomic():
        customer = selectors.customer_get(actor=request.auth, customer_id=customer_id)
        customer = services.customer_update(
            actor=request.auth, customer=customer, changes=_profile_changes(payload, partial=True)
        )
        return CustomerOut.from_model(customer)


@router.post(
    "/{customer_id}/identifiers",
    auth=requires(Capability.CUSTOMER_WRITE),
    response={201: IdentifierOut},
    summary="Add an identifier",
)
def add_identifier(request: ApiRequest, customer_id: int, payload: IdentifierIn) -> Status[IdentifierOut]:
    with transaction.atomic():
        customer = selectors.customer_get(actor=request.auth, customer_id=customer_id)
        identifier = services.identifier_add(
            actor=request.auth, customer=customer, kind=payload.kind, value=payload.value
        )
        return Status(201, IdentifierOut.from_model(identifier))


@router.get(
    "/{customer_id}/timeline",
    auth=requires(Capability.CUSTOMER_READ),
    response=TimelinePageOut,
    summary="The customer's timeline, newest first",
)
def customer_timeline(
    request: ApiRequest,
    customer_id: int,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> TimelinePageOut:
    page = selectors.timeline_page_by_id(
        actor=request.auth, customer_id=customer_id, cursor=cursor, limit=limit
    )
    return TimelinePageOut(
        items=[TimelineEventOut.from_model(e) for e in page.events], next_cursor=page.next_cursor
    )


@router.post(
    "/{customer_id}/merge",
    auth=requires(Capability.CUSTOMER_MERGE),
    response={201: MergeOut},
    summary="Merge another customer into this one",
)
def merge_customer(request: ApiRequest, customer_id: int, payload: MergeIn) -> Status[MergeOut]:
    with transaction.atomic():
        survivor = selectors.customer_get(actor=request.auth, customer_id=customer_id)
        absorbed = selectors.customer_get(
            actor=request.auth,
            customer_id=payload.absorbed_id,
            capability=Capability.CUSTOMER_MERGE,
            audit_as=None,  # the merge audits both
            field="absorbed_id",
        )
        merge = services.customer_merge(survivor=survivor, absorbed=absorbed, actor=request.auth)
        return Status(201, MergeOut.from_model(merge))


@merges_router.post(
    "/{merge_id}/undo",
    auth=requires(Capability.CUSTOMER_MERGE),
    response=MergeOut,
    summary="Undo a merge exactly",
)
def undo_merge(request: ApiRequest, merge_id: int) -> MergeOut:
    with transaction.atomic():
        merge = selectors.merge_get(actor=request.auth, merge_id=merge_id)
        return MergeOut.from_model(services.merge_undo(merge=merge, actor=request.auth))


@orders_router.post(
    "", auth=requires(Capability.ORDER_WRITE), response={201: OrderOut}, summary="Record an order"
)
def record_order(request: ApiRequest, payload: OrderIn) -> Status[OrderOut]:
    with transaction.atomic():
        ref = payload.customer
        customer = selectors.customer_by_ref(
            actor=request.auth, id=ref.id, kind=ref.kind, value=ref.value, capability=Capability.ORDER_WRITE
        )
        order = services.order_record(
            actor=request.auth,
            customer=customer,
            order_number=payload.order_number,
            purchased_at=payload.purchased_at,
            delivered_at=payload.delivered_at,
            currency=payload.currency,
            lines=[
                services.OrderLineInput(
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    product_name=line.name or "",
                    category=line.category or "",
                )
                for line in payload.lines
            ],
        )
        return Status(201, OrderOut.from_model(order))


@orders_router.post(
    "/{order_id}/delivery",
    auth=requires(Capability.ORDER_WRITE),
    response={200: OrderOut},
    summary="Record when an order was delivered",
)
def record_delivery(request: ApiRequest, order_id: int, payload: DeliveryIn) -> OrderOut:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"No order with id {order_id}.", field="order_id")
    order = services.order_delivery_record(actor=request.auth, order=order, delivered_at=payload.delivered_at)
    return OrderOut.from_model(order)
