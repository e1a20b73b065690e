"""SLAs on working time (C4, S9, S14): due times, a warning before a breach, escalation on breach.

Every conversation event recomputes the due times (``support.hooks``), from the state the
event left behind: the first response counts from the opening, the next response from the
customer message still waiting for an answer, the resolution from the opening or the latest
reopening. A due time that moves schedules two timers as tasks with ``run_after`` (the warning
at ``warn_at_percent`` of the target, the breach at the due moment). Nothing polls: a timer
re-reads the conversation when it fires and does nothing if its due time has moved or its
target was met; ``SlaAlert`` makes a timer that runs twice alert once.

Why these writers live here and not in services.py: no person acts when they run.
``sla_recompute`` runs from the conversation hook after the service that changed the
conversation (which wrote its own audit row), and ``sla_timer_fire`` from a timer task; what
they write (due times, ``SlaAlert`` rows, an escalated priority, notifications) is the desk's
bookkeeping, with one transaction each and the escalation on the conversation's timeline.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from regard.customers.services import timeline_append
from regard.errors import InvalidInput
from regard.privacy.roles import Role
from regard.support.models import (
    Conversation,
    Notification,
    Priority,
    SlaAlert,
    SlaPolicy,
    Team,
    default_business_hours,
)
from regard.support.working_time import WorkingCalendar, add_working_minutes

logger = logging.getLogger(__name__)

Target = SlaAlert.Target
Stage = SlaAlert.Stage
DUE_FIELDS: dict[str, str] = {
    Target.FIRST_RESPONSE: "first_response_due_at",
    Target.NEXT_RESPONSE: "next_response_due_at",
    Target.RESOLUTION: "resolution_due_at",
}
MINUTE_FIELDS: dict[str, str] = {
    Target.FIRST_RESPONSE: "first_response_minutes",
    Target.NEXT_RESPONSE: "next_response_minutes",
    Target.RESOLUTION: "resolution_minutes",
}
LABELS: dict[str, str] = {
    Target.FIRST_RESPONSE: "first response",
    Target.NEXT_RESPONSE: "next response",
    Target.RESOLUTION: "resolution",
}
PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


# --- policies and calendars ------------------------------------------------------------------


def policy_for(*, team_id: int | None, kind: str, priority: str) -> SlaPolicy | None:
    """The most specific policy: a team's before the default, then the one naming more of kind and
    priority; between one naming only the kind and one naming only the priority, the priority wins,
    so raising the priority of an escalated conversation tightens its targets."""
    candidates = SlaPolicy.objects.filter(
        Q(team_id=team_id) | Q(team__isnull=True) if team_id else Q(team__isnull=True),
        kind__in=[kind, ""],
        priority__in=[priority, ""],
    )

    def specificity(policy: SlaPolicy) -> tuple[bool, int, bool, bool, int]:
        named = bool(policy.kind) + bool(policy.priority)
        return (policy.team_id is not None, named, bool(policy.priority), bool(policy.kind), -policy.pk)

    return max(candidates, key=specificity, default=None)


def default_calendar() -> WorkingCalendar:
    """For conversations without a team: weekdays 09:00–17:00 in the installation's zone."""
    return WorkingCalendar.from_business_hours(default_business_hours(), time_zone=settings.TIME_ZONE)


def calendar_for(team: Team | None) -> WorkingCalendar:
    if team is None:
        return default_calendar()
    try:
        return WorkingCalendar.from_business_hours(
            team.business_hours or {}, time_zone=team.time_zone, country=team.country
        )
    except InvalidInput as error:
        # A team saved with unusable hours still gets SLAs, on the default calendar; the log says why.
        logger.warning("team %s: %s; using the default working hours", team.slug, error.message)
        return default_calendar()


def team_calendar_check(*, business_hours: Any, time_zone: str, country: str = "") -> WorkingCalendar:
    """Validate a team's calendar fields (forms and API call this before saving a team)."""
    return WorkingCalendar.from_business_hours(business_hours, time_zone=time_zone, country=country)


# --- due times ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timer:
    target: str
    cycle_started_at: datetime
    due_at: datetime
    warn_at: datetime


def cycle_start(conversation: Conversation, target: str) -> datetime | None:
    """What the target measures from, or None when it does not apply right now."""
    if target == Target.FIRST_RESPONSE:
        return conversation.created_at
    if target == Target.NEXT_RESPONSE:
        # Before the first answer the first-response target covers the wait.
        if conversation.first_response_at is None:
            return None
        return conversation.awaiting_reply_since
    return conversation.resolution_started_at or conversation.created_at


def is_met(conversation: Conversation, target: str) -> bool:
    if target == Target.FIRST_RESPONSE:
        return conversation.first_response_at is not None
    if target == Target.NEXT_RESPONSE:
        return conversation.awaiting_reply_since is None
    return not conversation.is_open


def timers_for(
    conversation: Conversation, policy: SlaPolicy | None, calendar: WorkingCalendar
) -> dict[str, Timer]:
    timers: dict[str, Timer] = {}
    if policy is None:
        return timers
    for target, minutes_field in MINUTE_FIELDS.items():
        minutes = getattr(policy, minutes_field)
        start = cycle_start(conversation, target)
        if minutes is None or start is None:
            continue
        timers[target] = Timer(
            target=target,
            cycle_started_at=start,
            due_at=add_working_minutes(start, minutes, calendar),
            warn_at=add_working_minutes(start, minutes * policy.warn_at_percent // 100, calendar),
        )
    return timers


def _apply(conversation: Conversation, *, now: datetime) -> list[Timer]:
    """Recompute in place (the caller saves); return the timers to schedule."""
    if conversation.resolution_started_at is None:
        # The services set it on opening and reopening; rows from before that count from the opening.
        conversation.resolution_started_at = conversation.created_at
    policy = policy_for(team_id=conversation.team_id, kind=conversation.kind, priority=conversation.priority)
    timers = timers_for(conversation, policy, calendar_for(conversation.team))
    conversation.sla_policy = policy
    to_schedule = []
    for target, field in DUE_FIELDS.items():
        if is_met(conversation, target):
            # A met target keeps the due time it was measured against (for reports);
            # the next response has none while nothing waits for an answer.
            if target == Target.NEXT_RESPONSE:
                setattr(conversation, field, None)
            continue
        timer = timers.get(target)
        due = timer.due_at if timer else None
        if timer is not None and getattr(conversation, field) != due:
            to_schedule.append(timer)
        setattr(conversation, field, due)
    return to_schedule


def _schedule(conversation_id: int, timers: list[Timer], now: datetime) -> None:
    for timer in timers:
        due = timer.due_at.isoformat()
        if timer.warn_at < timer.due_at and timer.due_at > now:
            sla_timer.using(run_after=timer.warn_at).enqueue(
                conversation_id, timer.target, Stage.WARNING, due
            )
        sla_timer.using(run_after=timer.due_at).enqueue(conversation_id, timer.target, Stage.BREACH, due)


@transaction.atomic
def sla_recompute(*, conversation_id: int, now: datetime | None = None) -> Conversation | None:
    """Due times from the conversation's current state; timers for the ones that moved."""
    now = now or timezone.now()
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("team")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        return None
    timers = _apply(conversation, now=now)
    conversation.save(
        update_fields=[
            "resolution_started_at",
            "sla_policy",
            "first_response_due_at",
            "next_response_due_at",
            "resolution_due_at",
        ]
    )
    # Enqueued in this transaction: a rolled-back recompute leaves no timers behind.
    _schedule(conversation.pk, timers, now)
    return conversation


# What the due times depend on, per conversation, as this process last computed them. An event that
# leaves all of it unchanged (a note, a second customer message while one already waits, the
# "created" and "message" events of one new mail) cannot move a due time, so it skips the
# recompute. Entries expire so a changed policy or calendar is still picked up by the next event.
_SLA_INPUTS = (
    "team_id",
    "kind",
    "priority",
    "status",
    "created_at",
    "first_response_at",
    "awaiting_reply_since",
    "resolution_started_at",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
)
_INPUTS_TTL_SECONDS = 60.0
_last_inputs: dict[int, tuple[float, tuple[Any, ...]]] = {}


def on_conversation_event(event: str, conversation_id: int, message_id: int | None) -> None:
    row = Conversation.objects.filter(pk=conversation_id).values_list(*_SLA_INPUTS).first()
    if row is None:
        return
    clock = time.monotonic()
    seen = _last_inputs.get(conversation_id)
    if seen is not None and seen[1] == row and clock - seen[0] < _INPUTS_TTL_SECONDS:
        return
    done = sla_recompute(conversation_id=conversation_id)
    if done is not None:
        if len(_last_inputs) > 10_000:
            _last_inputs.clear()
        _last_inputs[conversation_id] = (clock, tuple(getattr(done, name) for name in _SLA_INPUTS))


# --- when a timer fires -------------------------------------------------------------------------


def _raise_priority(priority: str) -> str:
    index = PRIORITY_ORDER.index(Priority(priority))
    return PRIORITY_ORDER[min(index + 1, len(PRIORITY_ORDER) - 1)]


def _recipients(conversation: Conversation) -> list[Any]:
    people = [conversation.assignee, conversation.team.lead if conversation.team else None]
    seen: set[int] = set()
    result = []
    for person in people:
        if person is not None and person.is_active and person.pk not in seen:
            seen.add(person.pk)
            result.append(person)
    if result:
        return result
    # Nobody owns it (no assignee, no team lead): a warning nobody reads is a promise broken
    # in silence, so it goes to the managers, or to the admins where there are none.
    for role in (Role.MANAGER, Role.ADMIN):
        fallback = list(User.objects.filter(is_active=True, groups__name=role.value).order_by("pk"))
        if fallback:
            return fallback
    return list(User.objects.filter(is_active=True, is_superuser=True).order_by("pk"))


def _local(moment: datetime, conversation: Conversation) -> str:
    zone = calendar_for(conversation.team).zone
    return f"{moment.astimezone(zone):%a %d %b %H:%M} ({zone.key})"


@transaction.atomic
def sla_timer_fire(
    *, conversation_id: int, target: str, stage: str, due_at: datetime, now: datetime | None = None
) -> str:
    """Warn or escalate if the timer still stands; return what happened (for the task's result)."""
    now = now or timezone.now()
    if target not in DUE_FIELDS or stage not in Stage.values:
        raise InvalidInput(f"target: unknown SLA timer {target}/{stage}.", field="target")
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("team", "assignee", "team__lead", "sla_policy")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        return "gone"
    if getattr(conversation, DUE_FIELDS[target]) != due_at:
        return "stale"  # the due time moved; the timer scheduled for the new one will act
    if is_met(conversation, target):
        return "met"
    policy = conversation.sla_policy
    started = cycle_start(conversation, target)
    if policy is None or started is None:
        return "stale"
    moment = due_at
    if stage == Stage.WARNING:
        minutes = getattr(policy, MINUTE_FIELDS[target]) or 0
        moment = add_working_minutes(
            started, minutes * policy.warn_at_percent // 100, calendar_for(conversation.team)
        )
    if now < moment:
        return "early"  # a worker's clock ahead of ours; the breach timer still follows
    try:
        with transaction.atomic():
            SlaAlert.objects.create(
                conversation=conversation,
                target=target,
                stage=stage,
                cycle_started_at=started,
                due_at=due_at,
                created_at=now,
            )
    except IntegrityError:
        return "already"
    label = LABELS[target]
    if stage == Stage.WARNING:
        conversation.sla_warned_at = now
        conversation.save(update_fields=["sla_warned_at"])
        text = f"[#{conversation.token}] {label} due {_local(due_at, conversation)}: {conversation.subject or conversation.kind}"
        _notify(conversation, Notification.Kind.SLA_WARNING, text, now)
        return "warned"
    _escalate(conversation, target=target, due_at=due_at, now=now)
    return "escalated"


def _notify(conversation: Conversation, kind: str, text: str, now: datetime) -> None:
    Notification.objects.bulk_create(
        Notification(user=person, conversation=conversation, kind=kind, text=text[:500], created_at=now)
        for person in _recipients(conversation)
    )


def _escalate(conversation: Conversation, *, target: str, due_at: datetime, now: datetime) -> None:
    """On a breach: raise the priority one step, tell the lead and the assignee, mark it on the timeline."""
    label = LABELS[target]
    before = conversation.priority
    conversation.priority = _raise_priority(before)
    conversation.sla_breached_at = conversation.sla_breached_at or now
    conversation.updated_at = now
    timers = _apply(conversation, now=now)  # a higher priority may mean tighter targets
    conversation.save()
    _schedule(conversation.pk, timers, now)
    raised = f"; priority {before} → {conversation.priority}" if before != conversation.priority else ""
    _notify(
        conversation,
        Notification.Kind.SLA_BREACH,
        f"[#{conversation.token}] {label} missed (was due {_local(due_at, conversation)}){raised}",
        now,
    )
    timeline_append(
        customer=conversation.customer,
        kind="conversation.sla_breached",
        channel=conversation.channel,
        summary=f"[#{conversation.token}] {label} target missed{raised}",
        occurred_at=now,
        subject=conversation,
        data={"target": target, "due_at": due_at.isoformat(), "priority": [before, conversation.priority]},
    )


@task()
def sla_timer(conversation_id: int, target: str, stage: str, due_at: str) -> str:
    """One SLA timer, scheduled with ``run_after`` at the moment it concerns (C4, S14).

    It re-reads the conversation when it fires: a timer whose due time has moved, or whose
    target was met meanwhile, does nothing. Running it twice alerts once.
    """
    return sla_timer_fire(
        conversation_id=conversation_id, target=target, stage=stage, due_at=datetime.fromisoformat(due_at)
    )
