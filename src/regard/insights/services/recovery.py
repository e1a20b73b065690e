"""The recovery worklist: find bad experiences in the records, and see them put right (C6, S24).

Seed 000: 86% of customers leave after one bad experience. Nothing here contacts the
customer: the worklist tells a person, and whatever they send goes through the outbox and
the gate like every other message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django_tasks import task

from regard.consent.models import ConsentEvent
from regard.consent.selectors import preferences_current
from regard.customers.selectors import current_customer_ids
from regard.customers.services import timeline_append
from regard.errors import Conflict, InvalidInput, PermissionDenied
from regard.insights.models import RecoveryItem
from regard.outreach.models import InboundFeedback, OutboxMessage
from regard.policies.models import Promise
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record
from regard.support.models import Conversation, Notification, SatisfactionSurvey, Team
from regard.support.sla import default_calendar
from regard.support.working_time import add_working_minutes

# Someone should take up a bad experience within one working day (8 working hours) or it escalates.
CLAIM_WITHIN_WORKING_MINUTES = 8 * 60
# An unsubscribe this soon after a support contact is read as a reaction to that contact.
UNSUBSCRIBE_AFTER_CONTACT = timedelta(days=7)
# How often the worklist looks at the records again.
SCAN_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class Found:
    customer_id: int
    trigger: str
    source: str
    reason: str
    severity: int
    occurred_at: datetime


def _broken_promises(since: datetime) -> Iterator[Found]:
    for promise in Promise.objects.filter(state=Promise.State.BROKEN, settled_at__gte=since):
        assert promise.settled_at is not None
        yield Found(
            promise.customer_id,
            RecoveryItem.Trigger.PROMISE_BROKEN,
            f"policies.promise:{promise.pk}",
            f"A promise was broken: {promise.what} (due {timezone.localtime(promise.due_at):%d %b %H:%M})",
            5,
            promise.settled_at,
        )


def _sla_breaches(since: datetime) -> Iterator[Found]:
    for conversation in Conversation.objects.filter(sla_breached_at__gte=since):
        assert conversation.sla_breached_at is not None
        yield Found(
            conversation.customer_id,
            RecoveryItem.Trigger.SLA_BREACH,
            f"support.conversation:{conversation.pk}",
            f"Waited past the promised response time on “{conversation.subject or conversation.channel}”",
            4,
            conversation.sla_breached_at,
        )


def _low_satisfaction(since: datetime) -> Iterator[Found]:
    surveys = SatisfactionSurvey.objects.filter(score__lte=2, answered_at__gte=since).select_related(
        "conversation"
    )
    for survey in surveys:
        assert survey.answered_at is not None
        yield Found(
            survey.conversation.customer_id,
            RecoveryItem.Trigger.LOW_SATISFACTION,
            f"support.satisfactionsurvey:{survey.pk}",
            f"Rated their support {survey.score} of 5"
            + (f": “{survey.comment[:120]}”" if survey.comment else ""),
            4,
            survey.answered_at,
        )


def _complaints(since: datetime) -> Iterator[Found]:
    for conversation in Conversation.objects.filter(kind=Conversation.Kind.COMPLAINT, created_at__gte=since):
        yield Found(
            conversation.customer_id,
            RecoveryItem.Trigger.COMPLAINT,
            f"support.conversation:{conversation.pk}",
            f"Complained: “{conversation.subject or conversation.channel}”",
            3,
            conversation.created_at,
        )


def _spam_complaints(since: datetime) -> Iterator[Found]:
    reports = InboundFeedback.objects.filter(
        kind=InboundFeedback.Kind.COMPLAINT, customer__isnull=False, received_at__gte=since
    )
    for report in reports:
        assert report.customer_id is not None
        yield Found(
            report.customer_id,
            RecoveryItem.Trigger.SPAM_COMPLAINT,
            f"outreach.inboundfeedback:{report.pk}",
            "Reported our mail as spam",
            5,
            report.received_at,
        )


def _unsubscribed_after_contact(since: datetime) -> Iterator[Found]:
    withdrawals = ConsentEvent.objects.filter(action=ConsentEvent.Action.WITHDRAWN, recorded_at__gte=since)
    for event in withdrawals:
        contact = (
            Conversation.objects.filter(
                customer_id=event.customer_id,
                created_at__lte=event.recorded_at,
                created_at__gte=event.recorded_at - UNSUBSCRIBE_AFTER_CONTACT,
            )
            .order_by("-created_at")
            .first()
        )
        if contact is None:
            continue
        days = (event.recorded_at - contact.created_at).days
        yield Found(
            event.customer_id,
            RecoveryItem.Trigger.UNSUBSCRIBED_AFTER_CONTACT,
            f"consent.consentevent:{event.pk}",
            f"Unsubscribed from {event.purpose} {days} day{'s' if days != 1 else ''} after contacting support",
            3,
            event.recorded_at,
        )


def _over_contacted(now: datetime) -> Iterator[Found]:
    week = now - timedelta(days=7)
    counts = dict(
        OutboxMessage.objects.filter(state=OutboxMessage.State.SENT, sent_at__gte=week, kind="marketing")
        .values("customer_id")
        .annotate(n=Count("id"))
        .values_list("customer_id", "n")
    )
    chosen = preferences_current(counts)
    year, number, _ = now.isocalendar()
    for customer_id, count in counts.items():
        preference = chosen.get(customer_id)
        limit = preference.max_messages_per_week if preference else None
        if limit is not None and count > limit:
            yield Found(
                customer_id,
                RecoveryItem.Trigger.OVER_CONTACTED,
                f"customers.customer:{customer_id}:week:{year}-{number:02d}",
                f"Got {count} marketing messages in 7 days; they chose at most {limit} a week",
                3,
                now,
            )


def _found(*, since: datetime, now: datetime) -> Iterator[Found]:
    yield from _broken_promises(since)
    yield from _sla_breaches(since)
    yield from _low_satisfaction(since)
    yield from _complaints(since)
    yield from _spam_complaints(since)
    yield from _unsubscribed_after_contact(since)
    yield from _over_contacted(now)


def recovery_scan(*, since: datetime | None = None, now: datetime | None = None) -> list[RecoveryItem]:
    """Add an item for every bad experience since ``since`` not yet on the list; returns the new ones.

    Running it twice, or over overlapping periods, adds nothing twice (one item per trigger
    and source record).
    """
    now = now or timezone.now()
    since = since or now - timedelta(days=30)
    found = list(_found(since=since, now=now))
    current = current_customer_ids({f.customer_id for f in found})
    known = set(
        RecoveryItem.objects.filter(source__in=[f.source for f in found]).values_list("trigger", "source")
    )
    due = add_working_minutes(now, CLAIM_WITHIN_WORKING_MINUTES, default_calendar())
    created = []
    for item in found:
        if (item.trigger, item.source) in known:
            continue
        try:
            with transaction.atomic():
                recovery = RecoveryItem.objects.create(
                    customer_id=current.get(item.customer_id, item.customer_id),
                    trigger=item.trigger,
                    source=item.source,
                    reason=item.reason[:300],
                    severity=item.severity,
                    occurred_at=item.occurred_at,
                    created_at=now,
                    claim_due_at=due,
                )
                recovery_escalate.using(run_after=due).enqueue(recovery.pk)
        except IntegrityError:
            continue  # another scan took it first
        created.append(recovery)
    return created


@task()
def recovery_scan_task() -> int:
    """Look at the records again, then come back in ``SCAN_EVERY`` (one chain of scans at a time)."""
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    found = recovery_scan(since=now - timedelta(days=2), now=now)
    path = f"{recovery_scan_task.module_path}"
    if not DBTaskResult.objects.filter(task_path=path, status="READY").exists():
        recovery_scan_task.using(run_after=now + SCAN_EVERY).enqueue()
    return len(found)


def _locked(item: RecoveryItem) -> RecoveryItem:
    return RecoveryItem.objects.select_for_update().select_related("customer").get(pk=item.pk)


@transaction.atomic
def recovery_claim(*, actor: AnyUser, item: RecoveryItem, now: datetime | None = None) -> RecoveryItem:
    access.require(actor, Capability.RECOVERY_WORK)
    now = now or timezone.now()
    item = _locked(item)
    if item.state != RecoveryItem.State.OPEN:
        taken = f" by {item.claimed_by.get_username()}" if item.claimed_by else ""
        raise Conflict(f"state: this item is already {item.state}{taken}.", field="state")
    item.state, item.claimed_by, item.claimed_at = RecoveryItem.State.CLAIMED, actor, now  # type: ignore[assignment]
    item.save(update_fields=["state", "claimed_by", "claimed_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="recovery_item",
        object_id=item.pk,
        customer_id=item.customer_id,
        detail={"state": "claimed"},
        now=now,
    )
    return item


@transaction.atomic
def recovery_close(
    *, actor: AnyUser, item: RecoveryItem, action: str, note: str = "", now: datetime | None = None
) -> RecoveryItem:
    """Record what was done to put it right; on the customer's timeline, so the mirror shows it."""
    access.require(actor, Capability.RECOVERY_WORK)
    now = now or timezone.now()
    if action not in RecoveryItem.Action.values:
        raise InvalidInput(f"action: one of {', '.join(RecoveryItem.Action.values)}.", field="action")
    note = " ".join((note or "").split())
    if len(note) > 1000:
        raise InvalidInput("note: up to 1,000 characters.", field="note")
    item = _locked(item)
    if item.state == RecoveryItem.State.CLOSED:
        raise Conflict("state: this item is already closed.", field="state")
    taken_by_another = item.state == RecoveryItem.State.CLAIMED and item.claimed_by_id != getattr(
        actor, "pk", None
    )
    if taken_by_another and not access.has_capability(actor, Capability.PROMISE_READ_ALL):
        raise PermissionDenied("state: another person claimed this item.", field="state")
    item.state, item.action, item.note = RecoveryItem.State.CLOSED, action, note
    item.closed_by, item.closed_at = actor, now  # type: ignore[assignment]
    if item.claimed_at is None:
        item.claimed_by, item.claimed_at = actor, now  # type: ignore[assignment]
    item.save(update_fields=["state", "action", "note", "closed_by", "closed_at", "claimed_by", "claimed_at"])
    timeline_append(
        customer=item.customer,
        kind="recovery.closed",
        summary=f"Recovery after “{item.reason[:200]}”: {item.get_action_display().lower()}"
        + (f" — {note[:200]}" if note else ""),
        occurred_at=now,
        subject=item,
        data={"trigger": item.trigger, "action": action},
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="recovery_item",
        object_id=item.pk,
        customer_id=item.customer_id,
        detail={"state": "closed", "action": action},
        now=now,
    )
    return item


def _escalation_recipients() -> list[User]:
    leads = User.objects.filter(pk__in=Team.objects.exclude(lead=None).values("lead"), is_active=True)
    managers = User.objects.filter(Q(groups__name="manager") | Q(is_superuser=True), is_active=True)
    people = {user.pk: user for user in [*leads, *managers]}
    return list(people.values())


@transaction.atomic
def recovery_escalate_if_unclaimed(*, item_id: int, now: datetime | None = None) -> str:
    """Runs at the claim deadline: an item nobody took up goes to the team leads and managers."""
    now = now or timezone.now()
    item = RecoveryItem.objects.select_for_update().select_related("customer").filter(pk=item_id).first()
    if item is None:
        return "gone"
    if item.state != RecoveryItem.State.OPEN or item.escalated_at is not None:
        return "nothing to do"
    if item.claim_due_at > now:
        return "not due yet"
    item.escalated_at = now
    item.save(update_fields=["escalated_at"])
    text = (
        f"Nobody has taken up {item.customer.display_name}'s bad experience for a working day: {item.reason}"
    )
    Notification.objects.bulk_create(
        Notification(user=person, kind=Notification.Kind.RECOVERY_UNCLAIMED, text=text[:500], created_at=now)
        for person in _escalation_recipients()
    )
    return "escalated"


@task()
def recovery_escalate(item_id: int) -> str:
    return recovery_escalate_if_unclaimed(item_id=item_id)


def recovery_kick_off(*, now: datetime | None = None) -> None:
    """Start the chain of scans (`regard serve`, `regard recovery-scan`); a running chain is left alone."""
    from django_tasks_db.models import DBTaskResult

    if not DBTaskResult.objects.filter(task_path=recovery_scan_task.module_path, status="READY").exists():
        recovery_scan_task.using(run_after=now or timezone.now()).enqueue()
