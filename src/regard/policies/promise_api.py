"""Promises over HTTP (/api/v1/promises, C5, S22): list with filters, create, get, keep, withdraw.

Thin: selectors check the role, scope (own and team's; managers every team's) and audit reads.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from ninja import Field, Query, Router, Schema, Status

from regard.api.auth import ApiRequest, requires
from regard.api.schemas import ModelOut
from regard.customers.models import Customer
from regard.errors import InvalidInput, NotFound
from regard.policies import selectors, services
from regard.privacy.roles import Capability
from regard.support.models import Conversation

promises_router = Router(tags=["policies"])


class PromiseOut(ModelOut):
    id: int
    customer_id: int
    conversation_id: int | None
    kind: str
    what: str
    owner: str = Field(validation_alias="owner.username")
    team: str | None = Field(None, validation_alias="team.slug")
    state: str
    due_at: datetime
    due_working_days: int | None
    source: str
    created_at: datetime
    settled_at: datetime | None
    settlement_note: str
    settlement_message_id: int | None


class PromiseIn(Schema):
    customer_id: int
    conversation_id: int | None = None
    kind: str
    what: str
    owner: str = ""  # a username; the caller when empty
    due_at: datetime | None = None
    due_working_days: int | None = None


class KeepIn(Schema):
    note: str = ""


class WithdrawIn(Schema):
    message: str = ""
    override: bool = False


class PromiseQuery(Schema):
    state: str = ""
    owner: str = ""
    customer_id: int | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool = False
    limit: int = 50
    offset: int = 0


@promises_router.get(
    "", auth=requires(Capability.PROMISE_WRITE), response=list[PromiseOut], summary="List promises"
)
def list_promises(request: ApiRequest, query: Query[PromiseQuery]) -> list[PromiseOut]:
    rows = selectors.promise_list(actor=request.auth, via="api", **query.model_dump())
    return rows  # type: ignore[return-value]  # ninja reads the models through PromiseOut


@promises_router.post(
    "", auth=requires(Capability.PROMISE_WRITE), response={201: PromiseOut}, summary="Record a promise"
)
def create_promise(request: ApiRequest, payload: PromiseIn) -> Status[PromiseOut]:
    customer = Customer.objects.filter(pk=payload.customer_id).first()
    if customer is None:
        raise NotFound(f"customer_id: no customer with id {payload.customer_id}.", field="customer_id")
    conversation = None
    if payload.conversation_id is not None:
        conversation = Conversation.objects.select_related("team").filter(pk=payload.conversation_id).first()
        if conversation is None:
            raise InvalidInput(
                f"conversation: no conversation {payload.conversation_id}.", field="conversation"
            )
    owner = request.auth
    if payload.owner:
        owner = User.objects.filter(username=payload.owner, is_active=True).first()
        if owner is None:
            raise InvalidInput(f"owner: no user '{payload.owner}'.", field="owner")
    promise = services.promise_record(
        customer=customer,
        conversation=conversation,
        kind=payload.kind,
        what=payload.what,
        owner=owner,
        actor=request.auth,
        due_at=payload.due_at,
        due_working_days=payload.due_working_days,
        source="api",
        via="api",
    )
    return Status(201, selectors.promise_get(actor=request.auth, promise_id=promise.pk))  # type: ignore[arg-type]


@promises_router.get("/{promise_id}", auth=requires(Capability.PROMISE_WRITE), response=PromiseOut)
def get_promise(request: ApiRequest, promise_id: int) -> PromiseOut:
    return selectors.promise_get(actor=request.auth, promise_id=promise_id)  # type: ignore[return-value]


@promises_router.post("/{promise_id}/kept", auth=requires(Capability.PROMISE_WRITE), response=PromiseOut)
def keep_promise(request: ApiRequest, promise_id: int, payload: KeepIn) -> PromiseOut:
    promise = selectors.promise_get(actor=request.auth, promise_id=promise_id)
    return services.promise_keep(promise=promise, actor=request.auth, note=payload.note)  # type: ignore[return-value]


@promises_router.post("/{promise_id}/withdraw", auth=requires(Capability.PROMISE_WRITE), response=PromiseOut)
def withdraw_promise(request: ApiRequest, promise_id: int, payload: WithdrawIn) -> PromiseOut:
    promise = selectors.promise_get(actor=request.auth, promise_id=promise_id)
    withdrawn = services.promise_withdraw(
        promise=promise, actor=request.auth, message_text=payload.message, override=payload.override
    )
    return withdrawn  # type: ignore[return-value]
