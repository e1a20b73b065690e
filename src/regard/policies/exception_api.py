"""The exceptions registry over HTTP (C5, S11), on ``exceptions_router`` at /api/v1/exceptions."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema, Status

from regard.api.auth import ApiRequest, requires
from regard.customers.models import Customer
from regard.errors import NotFound
from regard.inputs import OFFSET_MAX
from regard.policies.models import ExceptionEntry, ExceptionGroup
from regard.policies.selectors import exceptions as selectors
from regard.policies.services import exceptions as services
from regard.privacy.roles import Capability
from regard.support.models import Conversation

exceptions_router = Router(tags=["policies"])


class ExceptionIn(Schema):
    customer_id: int
    request_text: str
    action_taken: str = ""
    category: str = ""
    conversation_id: int | None = None


class ExceptionOut(Schema):
    id: int
    customer_id: int
    request_text: str
    action_taken: str
    category: str
    group_id: int
    similarity: float | None
    is_covered_by_decision: bool
    logged_at: datetime

    @staticmethod
    def of(entry: ExceptionEntry) -> ExceptionOut:
        return ExceptionOut(
            id=entry.pk,
            customer_id=entry.customer_id,
            request_text=entry.request_text,
            action_taken=entry.action_taken,
            category=entry.category,
            group_id=entry.group_id,
            similarity=entry.similarity,
            is_covered_by_decision=entry.is_covered_by_decision,
            logged_at=entry.logged_at,
        )


class WeekOut(Schema):
    week_start: str
    count: int


class GroupOut(Schema):
    id: int
    label: str
    state: str
    member_count: int
    threshold_reached_at: datetime | None
    owner: str | None
    decision_due_at: datetime | None
    is_overdue: bool
    adopted_policy_ref: str
    adopted_rule: str
    declined_answers: dict[str, str]

    @staticmethod
    def of(group: ExceptionGroup, now: datetime | None = None) -> GroupOut:
        from django.utils import timezone

        return GroupOut(
            id=group.pk,
            label=group.label,
            state=group.state,
            member_count=group.member_count,
            threshold_reached_at=group.threshold_reached_at,
            owner=group.owner.get_username() if group.owner else None,
            decision_due_at=group.decision_due_at,
            is_overdue=selectors.group_is_overdue(group, now=now or timezone.now()),
            adopted_policy_ref=group.adopted_policy_ref,
            adopted_rule=group.adopted_rule,
            declined_answers=group.declined_answers or {},
        )


class GroupDetailOut(GroupOut):
    weeks: list[WeekOut]
    members: list[ExceptionOut]


class MoveIn(Schema):
    group_id: int | None = None  # None: a group of its own


class DecisionIn(Schema):
    decision: str
    adopted_policy_ref: str = ""
    adopted_rule: str = ""
    declined_answers: dict[str, str] | None = None


@exceptions_router.post(
    "",
    auth=requires(Capability.EXCEPTION_LOG),
    response={201: ExceptionOut},
    summary="Log a request outside policy",
)
def exception_log(request: ApiRequest, payload: ExceptionIn) -> Status[ExceptionOut]:
    customer = Customer.objects.filter(pk=payload.customer_id).first()
    if customer is None:
        raise NotFound(f"customer_id: no customer {payload.customer_id}.", field="customer_id")
    conversation = None
    if payload.conversation_id is not None:
        conversation = Conversation.objects.filter(pk=payload.conversation_id).first()
        if conversation is None:
            raise NotFound(
                f"conversation_id: no conversation {payload.conversation_id}.", field="conversation_id"
            )
    entry = services.exception_log(
        customer=customer,
        request_text=payload.request_text,
        action_taken=payload.action_taken,
        category=payload.category,
        conversation=conversation,
        actor=request.auth,
    )
    return Status(201, ExceptionOut.of(entry))


@exceptions_router.get(
    "",
    auth=requires(Capability.EXCEPTION_LOG),
    response=list[ExceptionOut],
    summary="Exceptions, newest first",
)
def exception_list(
    request: ApiRequest, customer_id: int | None = None, limit: int = 50, offset: int = 0
) -> list[ExceptionOut]:
    from regard.errors import InvalidInput

    if not 0 <= offset <= OFFSET_MAX:
        raise InvalidInput(f"offset: from 0 to {OFFSET_MAX}.", field="offset")
    rows = selectors.exception_list(
        actor=request.auth, customer_ids=[customer_id] if customer_id else None, limit=limit, offset=offset
    )
    return [ExceptionOut.of(e) for e in rows]


@exceptions_router.post(
    "/{exception_id}/move",
    auth=requires(Capability.EXCEPTION_LOG),
    response=ExceptionOut,
    summary="Move an exception to another group (or one of its own)",
)
def exception_move(request: ApiRequest, exception_id: int, payload: MoveIn) -> ExceptionOut:
    entry = ExceptionEntry.objects.filter(pk=exception_id).first()
    if entry is None:
        raise NotFound(f"No exception with id {exception_id}.", field="id")
    group = None
    if payload.group_id is not None:
        group = ExceptionGroup.objects.filter(pk=payload.group_id).first()
        if group is None:
            raise NotFound(f"group_id: no exception group {payload.group_id}.", field="group_id")
    return ExceptionOut.of(services.exception_move(exception=entry, to_group=group, actor=request.auth))


@exceptions_router.get(
    "/groups",
    auth=requires(Capability.EXCEPTION_LOG),
    response=list[GroupOut],
    summary="Groups, most requested first",
)
def group_list(request: ApiRequest, state: str = "", overdue: bool = False) -> list[GroupOut]:
    groups = selectors.exception_groups(actor=request.auth, state=state, overdue_only=overdue)
    return [GroupOut.of(g) for g in groups[:500]]


@exceptions_router.get(
    "/groups/{group_id}",
    auth=requires(Capability.EXCEPTION_LOG),
    response=GroupDetailOut,
    summary="A group with its count per week and its members",
)
def group_get(request: ApiRequest, group_id: int) -> GroupDetailOut:
    group = selectors.exception_group_get(actor=request.auth, group_id=group_id)
    base = GroupOut.of(group)
    return GroupDetailOut(
        **base.dict(),
        weeks=[
            WeekOut(week_start=w.week_start.isoformat(), count=w.count)
            for w in selectors.group_counts_by_week(group=group)
        ],
        members=[ExceptionOut.of(m) for m in selectors.group_members(actor=request.auth, group=group)],
    )


@exceptions_router.post(
    "/groups/{group_id}/decide",
    auth=requires(Capability.EXCEPTION_DECIDE),
    response=GroupOut,
    summary="Adopt the request as policy, or decline it with an honest standard answer (en and de)",
)
def group_decide(request: ApiRequest, group_id: int, payload: DecisionIn) -> GroupOut:
    group = selectors.exception_group_get(actor=request.auth, group_id=group_id)
    decided = services.exception_group_decide(
        group=group,
        decision=payload.decision,
        actor=request.auth,
        adopted_policy_ref=payload.adopted_policy_ref,
        adopted_rule=payload.adopted_rule,
        declined_answers=payload.declined_answers,
    )
    return GroupOut.of(decided)
