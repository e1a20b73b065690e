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
from regard.errors import InvalidInput
from regard.policies.models import Promise
from regard.privacy import access
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record
from regard.support.models import Conversation, Team
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


@transaction.atomic
def promise_break_if_due(*, promise_id: int, now: datetime | None = None) -> str:
    """Mark the promise broken if it is still open at or after its due time (S22).

    Runs from the task scheduled at the due moment; running it twice, or early, changes nothing.
    """
    now = now or timezone.now()
    promise = Promise.objects.select_for_update().filter(pk=promise_id).first()
    if promise is None:
        return "gone"
    if promise.state != Promise.State.OPEN:
        return f"already {promise.state}"
    if promise.due_at > now:
        return "not due yet"
    promise.state = Promise.State.BROKEN
    promise.settled_at = now
    promise.settlement_note = "The due time passed and the promise was not kept."
    promise.save(update_fields=["state", "settled_at", "settlement_note"])
    timeline_append(
        customer=promise.customer,
        kind="promise.broken",
        summary=f"Promise broken: {promise.what}",
        occurred_at=now,
        subject=promise,
        data={"kind": promise.kind, "due_at": promise.due_at.isoformat()},
    )
    audit_record(
        actor=None,
        action=AuditEntry.Action.UPDATE,
        object_type="promise",
        object_id=promise.pk,
        customer_id=promise.customer_id,
        via="task",
        detail={"state": "broken"},
        now=now,
    )
    return "broken"


@task()
def promise_due(promise_id: int) -> str:
    """Runs at a promise's due moment: one still open then is broken (S22). Safe to run twice."""
    return promise_break_if_due(promise_id=promise_id)
