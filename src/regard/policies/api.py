"""Policies over HTTP (C5): entitlements, remedies, promises, the exceptions registry.

Thin: selectors check the role and audit reads, services write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Router, Schema, Status

from regard.api.auth import ApiRequest, requires
from regard.customers.models import OrderLine
from regard.customers.selectors import customer_get
from regard.errors import NotFound
from regard.policies.models import RemedyGrant, RemedyPolicy
from regard.policies.selectors import remedies as selectors
from regard.policies.selectors.remedies import LineEntitlement
from regard.policies.services import remedies as services
from regard.privacy.roles import Capability
from regard.support.models import Conversation

# Mounted at /customers and /orders (entitlements, remedies of one customer or order line).
customer_policies_router = Router(tags=["policies"])
order_policies_router = Router(tags=["policies"])
policies_router = Router(tags=["policies"])


class EntitlementOut(Schema):
    order_id: int
    order_number: str
    order_line_id: int
    product: str
    sku: str
    category: str
    policy_id: int | None
    policy_version: int | None
    entitlement: dict[str, Any]


def _entitlement_out(item: LineEntitlement) -> EntitlementOut:
    return EntitlementOut(
        order_id=item.order.pk,
        order_number=item.order.order_number,
        order_line_id=item.line.pk,
        product=item.line.product.name,
        sku=item.line.product.sku,
        category=item.line.product.category,
        policy_id=item.policy.pk if item.policy else None,
        policy_version=item.version.number if item.version else None,
        entitlement=item.entitlement.as_dict(),
    )


@customer_policies_router.get(
    "/{customer_id}/entitlements",
    auth=requires(Capability.CUSTOMER_READ),
    response=list[EntitlementOut],
    summary="What the customer is entitled to today, per order line, with the reasoning",
)
def customer_entitlements(request: ApiRequest, customer_id: int) -> list[EntitlementOut]:
    _, items = selectors.customer_entitlements(actor=request.auth, customer_id=customer_id)
    return [_entitlement_out(item) for item in items]


@order_policies_router.get(
    "/{order_id}/entitlements",
    auth=requires(Capability.CUSTOMER_READ),
    response=list[EntitlementOut],
    summary="What each line of one order entitles the customer to today",
)
def order_entitlements(request: ApiRequest, order_id: int) -> list[EntitlementOut]:
    _, items = selectors.order_entitlements(actor=request.auth, order_id=order_id)
    return [_entitlement_out(item) for item in items]


class GrantIn(Schema):
    kind: str
    order_line_id: int | None = None
    conversation_id: int | None = None
    amount: str | None = None
    currency: str = ""
    request_text: str = ""
    note: str = ""


class GrantOut(Schema):
    id: int
    customer_id: int
    kind: str
    amount: str | None
    currency: str
    order_line_id: int | None
    conversation_id: int | None
    policy_version_id: int | None
    is_exception: bool
    request_text: str
    promise_id: int | None
    granted_by: str
    granted_at: datetime

    @staticmethod
    def of(grant: RemedyGrant) -> GrantOut:
        return GrantOut(
            id=grant.pk,
            customer_id=grant.customer_id,
            kind=grant.kind,
            amount=str(grant.amount) if grant.amount is not None else None,
            currency=grant.currency,
            order_line_id=grant.order_line_id,
            conversation_id=grant.conversation_id,
            policy_version_id=grant.policy_version_id,
            is_exception=grant.is_exception,
            request_text=grant.request_text,
            promise_id=grant.promise_id,
            granted_by=grant.granted_by.get_username(),
            granted_at=grant.granted_at,
        )


@customer_policies_router.get(
    "/{customer_id}/remedies",
    auth=requires(Capability.CUSTOMER_READ),
    response=list[GrantOut],
    summary="Remedies granted to the customer (their merge group)",
)
def remedies_list(request: ApiRequest, customer_id: int) -> list[GrantOut]:
    return [
        GrantOut.of(g) for g in selectors.grants_for_customer(actor=request.auth, customer_id=customer_id)
    ]


@customer_policies_router.post(
    "/{customer_id}/remedies",
    auth=requires(Capability.REMEDY_GRANT),
    response={201: GrantOut},
    summary="Grant a remedy; outside policy it is recorded as an exception with the customer's request",
)
def remedies_grant(request: ApiRequest, customer_id: int, payload: GrantIn) -> Status[GrantOut]:
    # The grant audits itself: finding the customer is not a read of the profile.
    customer = customer_get(
        actor=request.auth, customer_id=customer_id, capability=Capability.REMEDY_GRANT, audit_as=None
    )
    line = None
    if payload.order_line_id is not None:
        line = OrderLine.objects.select_related("order", "product").filter(pk=payload.order_line_id).first()
        if line is None:
            raise NotFound(f"order_line_id: no order line {payload.order_line_id}.", field="order_line_id")
    conversation = None
    if payload.conversation_id is not None:
        conversation = Conversation.objects.filter(pk=payload.conversation_id).first()
        if conversation is None:
            raise NotFound(
                f"conversation_id: no conversation {payload.conversation_id}.", field="conversation_id"
            )
    grant = services.remedy_grant(
        actor=request.auth,
        customer=customer,
        kind=payload.kind,
        order_line=line,
        conversation=conversation,
        amount=payload.amount,
        currency=payload.currency,
        request_text=payload.request_text,
        note=payload.note,
    )
    return Status(201, GrantOut.of(grant))


class PolicyIn(Schema):
    name: str
    category: str
    sku: str = ""
    country: str = ""
    windows: list[dict[str, Any]]
    wording: dict[str, str]
    counted_from: str = "purchase"  # or "delivery"


class PolicyRevisionIn(Schema):
    windows: list[dict[str, Any]]
    wording: dict[str, str]
    name: str | None = None
    is_active: bool | None = None
    counted_from: str | None = None  # unchanged when left out


class PolicyOut(Schema):
    id: int
    name: str
    category: str
    sku: str
    country: str
    is_active: bool
    version: int
    windows: list[dict[str, Any]]
    wording: dict[str, str]
    counted_from: str

    @staticmethod
    def of(policy: RemedyPolicy) -> PolicyOut:
        version = selectors.latest_version(policy)
        return PolicyOut(
            id=policy.pk,
            name=policy.name,
            category=policy.category,
            sku=policy.sku,
            country=policy.country,
            is_active=policy.is_active,
            version=version.number,
            windows=version.windows,
            wording=version.wording,
            counted_from=version.counted_from,
        )


@policies_router.get(
    "", auth=requires(Capability.CONVERSATION_READ), response=list[PolicyOut], summary="Remedy policies"
)
def policy_list(request: ApiRequest) -> list[PolicyOut]:
    return [PolicyOut.of(p) for p in selectors.policy_list()]


@policies_router.post(
    "", auth=requires(Capability.POLICY_MANAGE), response={201: PolicyOut}, summary="Create a remedy policy"
)
def policy_create(request: ApiRequest, payload: PolicyIn) -> Status[PolicyOut]:
    policy = services.remedy_policy_create(actor=request.auth, **payload.dict())
    return Status(201, PolicyOut.of(policy))


@policies_router.get(
    "/{policy_id}",
    auth=requires(Capability.CONVERSATION_READ),
    response=PolicyOut,
    summary="One remedy policy",
)
def policy_get(request: ApiRequest, policy_id: int) -> PolicyOut:
    return PolicyOut.of(selectors.policy_get(actor=request.auth, policy_id=policy_id))


@policies_router.patch(
    "/{policy_id}",
    auth=requires(Capability.POLICY_MANAGE),
    response=PolicyOut,
    summary="Change a policy: writes a new version; what was granted under the old one keeps it",
)
def policy_revise(request: ApiRequest, policy_id: int, payload: PolicyRevisionIn) -> PolicyOut:
    policy = selectors.policy_get(actor=request.auth, policy_id=policy_id)
    services.remedy_policy_revise(actor=request.auth, policy=policy, **payload.dict())
    policy.refresh_from_db()
    return PolicyOut.of(policy)
