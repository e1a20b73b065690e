"""Recording promises made to a customer (C5, S22: a promise is made and silently broken)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from regard.customers.models import Customer
from regard.customers.selectors import customer_current, customer_group_ids
from regard.customers.services import timeline_append
from regard.errors import Conflict, InvalidInput, PermissionDenied
from regard.policies.models import Promise
from regard.privacy import access
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record
from regard.support.models import Conversation, Message, Notification, Team
from regard.support.sla import calendar_for
from regard.support.working_time import WorkingCalendar

Actor = User | AnonymousUser | None

MAX_WHAT = 500
# A promise further out than this is a plan, not a promise to a waiting customer.
MAX_WORKING_DAYS = 60


def promise_due_from_working_days(*, days: int, calendar: WorkingCalendar, now: datetime) -> datetime:
    """The close of business on the ``days``-th working day after today, on ``calendar``.

    "Within 3 working days" said on a Friday means by Wednesday evening, not Monday; a
    holiday in between moves it one day further.
    """
    if days < 1 or days > MAX_WORKING_DAYS:
        raise InvalidInput(f"due_working_days: between 1 and {MAX_WORKING_DAYS}.", field="due_working_days")
    day = now.astimezone(calendar.zone).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if calendar.is_working_day(day) and calendar.intervals_on(day):
            counted += 1
    return calendar.intervals_on(day)[-1][1]


def _clean_due(
    *, due_at: datetime | None, due_working_days: int | None, calendar: WorkingCalendar, now: datetime
) -> datetime:
    if (due_at is None) == (due_working_days is None):
        raise InvalidInput("due_at: give a due time or a number of working days, not both.", field="due_at")
    if due_working_days is not None:
        return promise_due_from_working_days(days=due_working_days, calendar=calendar, now=now)
    assert due_at is not None
    if timezone.is_naive(due_at):
        raise InvalidInput("due_at: give a time zone (e.g. 2026-12-03T10:00:00+01:00).", field="due_at")
    if due_at <= now:
        raise InvalidInput("due_at: is in the past; a promise is due later than now.", field="due_at")
    return due_at


@transaction.atomic
def promise_record(
    *,
    customer: Customer,
    kind: str,
    what: str,
    owner: User,
    actor: Actor,
    conversation: Conversation | None = None,
    due_at: datetime | None = None,
    due_working_days: int | None = None,
    team: Team | None = None,
    source: str = "agent",
    via: str = "api",
    now: datetime | None = None,
) -> Promise:
    """Record a promise made to ``customer``; a task marks it broken at its due moment if still open."""
    now = now or timezone.now()
    if kind not in Promise.Kind.values:
        raise InvalidInput(f"kind: one of {', '.join(Promise.Kind.values)}.", field="kind")
    what = " ".join((what or "").split())
    if not what:
        raise InvalidInput("what: say what was promised.", field="what")
    if len(what) > MAX_WHAT:
        raise InvalidInput(f"what: longer than {MAX_WHAT} characters.", field="what")
    if not access.has_capability(owner, Capability.PROMISE_WRITE):
        raise InvalidInput("owner: this user cannot keep promises (no agent or manager role).", field="owner")
    customer = customer_current(customer)
    if conversation is not None:
        if conversation.customer_id not in customer_group_ids(customer):
            raise InvalidInput("conversation: belongs to another customer.", field="conversation")
        team = team or conversation.team
    due = _clean_due(due_at=due_at, due_working_days=due_working_days, calendar=calendar_for(team), now=now)
    promise = Promise.objects.create(
        customer=customer,
        conversation=conversation,
        kind=kind,
        what=what,
        owner=owner,
        team=team,
        due_at=due,
        due_working_days=due_working_days,
        source=source,
        created_by=actor if isinstance(actor, User) else None,
        created_at=now,
    )
    timeline_append(
        customer=customer,
        kind="promise.made",
        channel=conversation.channel if conversation else "",
        summary=f"Promised: {what} (due {timezone.localtime(due):%d %b %Y %H:%M})",
        occurred_at=now,
        subject=promise,
        data={"kind": kind, "due_at": due.isoformat(), "owner": owner.username},
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        object_type="promise",
        object_id=promise.pk,
        customer_id=customer.pk,
        via=via,
        detail={"kind": kind, "due_at": due.isoformat()},
        now=now,
    )
    # S22: the check runs at the exact due moment, enqueued with the promise (rolled back with it).
    promise_due.using(run_after=due).enqueue(promise.pk)
    return promise


def _may_settle(actor: Actor, promise: Promise) -> None:
    """The owner settles their promise; a manager (or admin) may settle anyone's."""
    if actor is None:
        raise PermissionDenied("owner: only the promise's owner or a manager may settle it.", field="owner")
    access.require(actor, Capability.PROMISE_WRITE)
    if access.has_capability(actor, Capability.PROMISE_READ_ALL):
        return
    if actor.pk != promise.owner_id:
        raise PermissionDenied("owner: only the promise's owner or a manager may settle it.", field="owner")


def _require_open(promise: Promise, transition: str) -> None:
    if promise.state != Promise.State.OPEN:
        raise Conflict(
            f"state: this promise is already {promise.state}; only an open promise can be {transition}.",
            field="state",
            state=promise.state,
        )


def _settle(
    promise: Promise,
    *,
    state: str,
    note: str,
    actor: Actor,
    via: str,
    now: datetime,
    message: Message | None = None,
    summary: str,
    detail: dict[str, object] | None = None,
) -> Promise:
    promise.state = state
    promise.settled_at = now
    promise.settled_by = actor if isinstance(actor, User) else None
    promise.settlement_note = note[:MAX_WHAT]
    promise.settlement_message = message
    promise.save(update_fields=["state", "settled_at", "settled_by", "settlement_note", "settlement_message"])
    timeline_append(
        customer=promise.customer,
        kind=f"promise.{state}",
        channel=promise.conversation.channel if promise.conversation_id and promise.conversation else "",
        summary=summary,
        occurred_at=now,
        subject=promise,
        data={"kind": promise.kind, "due_at": promise.due_at.isoformat(), **(detail or {})},
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="promise",
        object_id=promise.pk,
        customer_id=promise.customer_id,
        via=via,
        detail={"state": state, **(detail or {})},
        now=now,
    )
    return promise


def _locked(promise: Promise) -> Promise:
    return (
        Promise.objects.select_for_update(of=("self",))
        .select_related("conversation", "team")
        .get(pk=promise.pk)
    )


@transaction.atomic
def promise_keep(
    *, promise: Promise, actor: Actor, note: str = "", via: str = "api", now: datetime | None = None
) -> Promise:
    """The owner (or a manager) says the promise was kept. After its due time it is too late:
    a promise kept late is broken, and the task at the due moment says so (S22)."""
    now = now or timezone.now()
    _may_settle(actor, promise)
    promise = _locked(promise)
    _require_open(promise, "kept")
    if promise.due_at < now:
        raise Conflict(
            f"due_at: the due time passed at {promise.due_at.isoformat()}; a promise kept late is broken.",
            field="due_at",
        )
    note = " ".join((note or "").split()) or "Marked kept."
    return _settle(
        promise,
        state=Promise.State.KEPT,
        note=note,
        actor=actor,
        via=via,
        now=now,
        summary=f"Promise kept: {promise.what}",
    )


def _callback_call_between(promise: Promise, *, until: datetime) -> Conversation | None:
    """A phone conversation with the customer logged after the promise and by ``until``."""
    return (
        Conversation.objects.filter(
            customer_id__in=customer_group_ids(promise.customer),
            channel=Conversation.Channel.PHONE,
            created_at__gte=promise.created_at,
            created_at__lte=min(until, promise.due_at),
        )
        .order_by("created_at", "id")
        .first()
    )


@transaction.atomic
def promise_keep_by_call(*, conversation_id: int, now: datetime | None = None) -> list[int]:
    """A phone call logged with a customer keeps their open callback promises that were due later.

    Called from the support desk's conversation hook (registered in ``policies.apps``), so the
    desk never imports policies; the due-moment task looks for the call again in case it missed.
    """
    now = now or timezone.now()
    call = Conversation.objects.filter(pk=conversation_id, channel=Conversation.Channel.PHONE).first()
    if call is None:
        return []
    kept: list[int] = []
    candidates = Promise.objects.select_for_update(of=("self",)).filter(
        customer_id__in=customer_group_ids(call.customer),
        kind=Promise.Kind.CALLBACK,
        state=Promise.State.OPEN,
        created_at__lte=call.created_at,
        due_at__gte=call.created_at,
    )
    for promise in candidates.select_related("conversation", "customer"):
        _settle_kept_by_call(promise, call=call, now=now)
        kept.append(promise.pk)
    return kept


def _settle_kept_by_call(promise: Promise, *, call: Conversation, now: datetime) -> None:
    at = timezone.localtime(call.created_at)
    _settle(
        promise,
        state=Promise.State.KEPT,
        note=f"Callback logged at {at:%d %b %Y %H:%M} [#{call.token}].",
        actor=None,
        via="task",
        now=now,
        summary=f"Promise kept: {promise.what} (call logged)",
        detail={"call": call.pk},
    )


@transaction.atomic
def promise_withdraw(
    *,
    promise: Promise,
    actor: Actor,
    message_text: str,
    override: bool = False,
    via: str = "api",
    now: datetime | None = None,
) -> Promise:
    """Withdraw a promise, only together with the message that tells the customer so.

    The message goes out through the conversation's ordinary reply path (the reply check,
    then the outbox and its gate for email); the withdrawal records which message it was.
    """
    from regard.support.services import reply_send

    now = now or timezone.now()
    _may_settle(actor, promise)
    promise = _locked(promise)
    _require_open(promise, "withdrawn")
    if not " ".join((message_text or "").split()):
        raise InvalidInput("message: tell the customer the promise is withdrawn, and why.", field="message")
    if promise.conversation is None:
        raise InvalidInput(
            "conversation: this promise has no conversation to tell the customer in.", field="conversation"
        )
    message = reply_send(
        actor=actor,
        conversation=promise.conversation,
        body_text=message_text,
        override=override,
        via=via,
        now=now,
    )
    return _settle(
        promise,
        state=Promise.State.WITHDRAWN,
        note=message.body_text,
        actor=actor,
        via=via,
        now=now,
        message=message,
        summary=f"Promise withdrawn: {promise.what} (the customer was told)",
        detail={"message": message.pk},
    )


def _notify_broken(promise: Promise, now: datetime) -> None:
    """Tell the owner and the team lead, in the desk's own notifications."""
    people = {promise.owner_id}
    if promise.team_id and promise.team and promise.team.lead_id:
        people.add(promise.team.lead_id)
    due = timezone.localtime(promise.due_at)
    where = f"[#{promise.conversation.token}] " if promise.conversation_id and promise.conversation else ""
    text = f"{where}Promise broken (was due {due:%d %b %H:%M}): {promise.what}"
    Notification.objects.bulk_create(
        Notification(
            user_id=person,
            conversation_id=promise.conversation_id,
            kind=Notification.Kind.PROMISE_BROKEN,
            text=text[:500],
            created_at=now,
        )
        for person in sorted(people)
    )


@transaction.atomic
def promise_break_if_due(*, promise_id: int, now: datetime | None = None) -> str:
    """Mark the promise broken if it is still open at or after its due time (S22).

    Runs from the task scheduled at the due moment; running it twice, or early, changes nothing.
    A callback with a phone call logged in time is kept instead (in case the hook missed it).
    """
    now = now or timezone.now()
    promise = (
        Promise.objects.select_for_update(of=("self",))
        .select_related("conversation", "team", "customer")
        .filter(pk=promise_id)
        .first()
    )
    if promise is None:
        return "gone"
    if promise.state != Promise.State.OPEN:
        return f"already {promise.state}"
    if promise.due_at > now:
        return "not due yet"
    if promise.kind == Promise.Kind.CALLBACK and (call := _callback_call_between(promise, until=now)):
        _settle_kept_by_call(promise, call=call, now=now)
        return "kept"
    _settle(
        promise,
        state=Promise.State.BROKEN,
        note="The due time passed and the promise was not kept.",
        actor=None,
        via="task",
        now=now,
        summary=f"Promise broken: {promise.what}",
    )
    _notify_broken(promise, now)
    return "broken"


@task()
def promise_due(promise_id: int) -> str:
    """Runs at a promise's due moment: one still open then is broken (S22). Safe to run twice."""
    return promise_break_if_due(promise_id=promise_id)
