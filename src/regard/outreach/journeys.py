"""Journeys: automated steps triggered by customer events (C3, S19).

A cart_abandoned event enrolls the customer once; each step becomes one outbox row
with a stable dedupe key (journey, enrollment, step) and a due time, which the
dispatcher picks up like any other row and puts to the gate at send time. A
purchase, a complaint or a withdrawal of consent ends the enrollment and drops
the steps still waiting.

``journey_create`` is a service (actor, one transaction, an audit row). The other writers
(enrolling, leaving, the merge and undo steps) take no actor on purpose: no person acts
when they run. They run inside the transaction of what caused them — ``events.event_record``
(audited), the dispatcher when the gate ends a journey at send time (the reasons stay on the
dropped outbox rows), ``customer_merge`` / ``merge_undo`` through the ownership registry and
an erasure (both audited) — and are recorded there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from regard.consent.services import clean_channel, clean_purpose, clean_topics
from regard.customers.models import Customer, TimelineEvent
from regard.customers.services import Actor
from regard.errors import InvalidInput
from regard.outreach.event_types import clean_event_type
from regard.outreach.models import Journey, JourneyEnrollment, OutboxMessage
from regard.outreach.render import validate_template
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record

# S19: an abandoned cart brought two emails a day for two weeks. No journey sends more
# than this many messages to one person, however often its trigger is posted.
MAX_STEPS = 2
DEFAULT_EXIT_ON = ("purchase", "complaint")
# Gate reasons that mean the person does not want this mail at all: leave the journey.
LEAVING_REASONS = frozenset({"no_consent", "suppressed", "frequency_choice"})
ABANDONED_CART = "abandoned-cart"

_KEY = re.compile(r"^journey:(\d+):enrollment:(\d+):step:(\d+)$")


def step_dedupe_key(*, journey_id: int, enrollment_id: int, step: int) -> str:
    return f"journey:{journey_id}:enrollment:{enrollment_id}:step:{step}"


def enrollment_id_from_key(dedupe_key: str) -> int | None:
    match = _KEY.match(dedupe_key)
    return int(match.group(2)) if match else None


def clean_steps(steps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not 1 <= len(steps) <= MAX_STEPS:
        raise InvalidInput(
            f"steps: 1 to {MAX_STEPS} steps (S19: no more reminders than that).", field="steps"
        )
    cleaned = []
    for number, step in enumerate(steps):
        field = f"steps[{number}]"
        wait = step.get("wait_hours")
        if not isinstance(wait, int | float) or isinstance(wait, bool) or not 0 <= wait <= 24 * 90:
            raise InvalidInput(
                f"{field}.wait_hours: a number of hours from 0 to 2160.", field=f"{field}.wait_hours"
            )
        for part in ("subject", "body"):
            text = step.get(part)
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(f"{field}.{part}: must not be empty.", field=f"{field}.{part}")
            validate_template(text, field=f"{field}.{part}")
        cleaned.append({"wait_hours": wait, "subject": step["subject"], "body": step["body"]})
    return cleaned


@transaction.atomic
def journey_create(
    *,
    actor: Actor,
    slug: str,
    name: str,
    trigger: str,
    purpose: str,
    steps: Sequence[Mapping[str, Any]],
    exit_on: Iterable[str] = DEFAULT_EXIT_ON,
    topics: Sequence[str] = (),
    channel: str = "email",
    via: str = "cli",
    now: datetime | None = None,
) -> Journey:
    now = now or timezone.now()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", slug):
        raise InvalidInput("slug: lower-case letters, digits and '-'.", field="slug")
    if Journey.objects.filter(slug=slug).exists():
        raise InvalidInput(f"slug: a journey '{slug}' exists already.", field="slug")
    if purpose == "service":
        raise InvalidInput("purpose: journeys are marketing.", field="purpose")
    journey = Journey.objects.create(
        slug=slug,
        name=name.strip()[:200] or slug,
        trigger=clean_event_type(trigger),
        exit_on=sorted({clean_event_type(kind) for kind in exit_on}),
        purpose=clean_purpose(purpose),
        channel=clean_channel(channel),
        topics=clean_topics(topics, field="topics"),
        steps=clean_steps(steps),
        created_at=now,
    )
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, object_type="journey", object_id=journey.pk, via=via, now=now)  # fmt: skip
    return journey


def _cart_key(data: Mapping[str, Any]) -> str | int | None:
    cart = data.get("cart_id")
    return cart if isinstance(cart, str | int) and not isinstance(cart, bool) and cart != "" else None


def _step_prefix(enrollment: JourneyEnrollment) -> str:
    return f"journey:{enrollment.journey_id}:enrollment:{enrollment.pk}:step:"


def _finish_if_done(enrollment: JourneyEnrollment, now: datetime) -> bool:
    """An active enrollment with no step left to go out is finished; answers whether it is."""
    rows = OutboxMessage.objects.filter(dedupe_key__startswith=_step_prefix(enrollment))
    if rows.filter(state__in=(OutboxMessage.State.PENDING, OutboxMessage.State.SENDING)).exists():
        return False
    last_sent = rows.aggregate(last=Max("sent_at"))["last"]
    JourneyEnrollment.objects.filter(pk=enrollment.pk, state=JourneyEnrollment.State.ACTIVE).update(
        state=JourneyEnrollment.State.FINISHED, left_at=last_sent or now, left_reason="finished"
    )
    return True


def may_enter(*, journey: Journey, customer_id: int, data: Mapping[str, Any], now: datetime) -> bool:
    """S19: one enrollment at a time, one per cart ever, and a cool-down after leaving or finishing."""
    previous = JourneyEnrollment.objects.filter(journey=journey, customer_id=customer_id)
    active = previous.filter(state=JourneyEnrollment.State.ACTIVE).first()
    if active is not None and not _finish_if_done(active, now):
        return False
    cart = _cart_key(data)
    if cart is not None and previous.filter(data__cart_id=cart).exists():
        return False
    ended = previous.exclude(state=JourneyEnrollment.State.ACTIVE).aggregate(last=Max("left_at"))["last"]
    return ended is None or now >= ended + timedelta(days=journey.reentry_cooldown_days)


def _enroll(journey: Journey, event: TimelineEvent, now: datetime) -> JourneyEnrollment | None:
    """Enroll when ``may_enter`` allows it; a second trigger meanwhile changes nothing (S19)."""
    if not may_enter(journey=journey, customer_id=event.customer_id, data=event.data, now=now):
        return None
    try:
        with transaction.atomic():
            enrollment = JourneyEnrollment.objects.create(
                journey=journey, customer_id=event.customer_id, data=event.data, entered_at=now
            )
    except IntegrityError:  # another trigger enrolled the customer in the meantime
        return None
    due = max(event.occurred_at, now)
    for number, step in enumerate(journey.steps):
        due += timedelta(hours=step["wait_hours"])
        row = OutboxMessage(
            dedupe_key=step_dedupe_key(journey_id=journey.pk, enrollment_id=enrollment.pk, step=number),
            customer_id=event.customer_id,
            kind=OutboxMessage.Kind.MARKETING,
            purpose=journey.purpose,
            channel=journey.channel,
            journey=journey.slug,
            subject=step["subject"],
            body=step["body"],
            topics=journey.topics,
            # Per enrollment: a re-entry after the cool-down is new content; within one
            # enrollment the gate still refuses a second copy of a step.
            content_key=f"journey:{journey.pk}:enrollment:{enrollment.pk}:step:{number}",
            due_at=due,
            expires_at=due + timedelta(days=3),
            created_at=now,
        )
        with transaction.atomic():
            row.save()
    return enrollment


def journey_leave(*, enrollment: JourneyEnrollment, reason: str, now: datetime | None = None) -> int:
    """End one enrollment and drop the steps still waiting; answers how many were dropped."""
    now = now or timezone.now()
    updated = JourneyEnrollment.objects.filter(pk=enrollment.pk, state=JourneyEnrollment.State.ACTIVE).update(
        state=JourneyEnrollment.State.LEFT, left_at=now, left_reason=reason[:64]
    )
    if not updated:
        return 0
    return OutboxMessage.objects.filter(
        dedupe_key__startswith=_step_prefix(enrollment), state=OutboxMessage.State.PENDING
    ).update(state=OutboxMessage.State.DROPPED, gate_outcome="drop", gate_reasons=[_left_reason_json(reason)])


def _left_reason_json(reason: str) -> dict[str, str]:
    return {"code": "left_journey", "detail": f"customer left the journey ({reason[:64]})"}


def journeys_leave_by_ids(*, enrollment_ids: Iterable[int], reason: str, now: datetime) -> None:
    for enrollment in JourneyEnrollment.objects.filter(
        pk__in=set(enrollment_ids), state=JourneyEnrollment.State.ACTIVE
    ):
        journey_leave(enrollment=enrollment, reason=reason, now=now)


def journeys_on_event(*, event: TimelineEvent, now: datetime) -> list[JourneyEnrollment]:
    """Leave the journeys this event ends, then enroll in those it starts."""
    for enrollment in JourneyEnrollment.objects.filter(
        customer_id=event.customer_id, state=JourneyEnrollment.State.ACTIVE
    ).select_related("journey"):
        if event.kind in enrollment.journey.exit_on:
            journey_leave(enrollment=enrollment, reason=event.kind, now=now)
    enrolled = []
    for journey in Journey.objects.filter(trigger=event.kind, is_active=True):
        entered = _enroll(journey, event, now)
        if entered is not None:
            enrolled.append(entered)
    return enrolled


def enrollment_for(*, journey: Journey, customer: Customer) -> JourneyEnrollment | None:
    """The customer's newest enrollment in this journey."""
    return (
        JourneyEnrollment.objects.filter(journey=journey, customer=customer)
        .order_by("-entered_at", "-id")
        .first()
    )


MERGED = "merged"


def enrollments_before_merge(survivor_id: int, absorbed_id: int, now: datetime) -> None:
    """Invariant 5 and S19: after a merge the person is in each journey once; the survivor's stays."""
    survivor_journeys = JourneyEnrollment.objects.filter(
        customer_id=survivor_id, state=JourneyEnrollment.State.ACTIVE
    ).values_list("journey_id", flat=True)
    for enrollment in JourneyEnrollment.objects.filter(
        customer_id=absorbed_id, state=JourneyEnrollment.State.ACTIVE, journey_id__in=list(survivor_journeys)
    ):
        journey_leave(enrollment=enrollment, reason=MERGED, now=now)


def enrollments_after_undo(survivor_id: int, absorbed_id: int, moved: list[Any], merged_at: datetime) -> None:
    """Undo: the enrollments the merge ended are active again, their waiting steps pending again."""
    ended = JourneyEnrollment.objects.filter(
        pk__in=moved,
        customer_id=absorbed_id,
        state=JourneyEnrollment.State.LEFT,
        left_reason=MERGED,
        left_at=merged_at,
    )
    for enrollment in ended:
        JourneyEnrollment.objects.filter(pk=enrollment.pk).update(
            state=JourneyEnrollment.State.ACTIVE, left_at=None, left_reason=""
        )
        dropped = OutboxMessage.objects.filter(
            dedupe_key__startswith=_step_prefix(enrollment), state=OutboxMessage.State.DROPPED
        ).values_list("pk", "gate_reasons")
        by_merge = [pk for pk, reasons in dropped if reasons == [_left_reason_json(MERGED)]]
        OutboxMessage.objects.filter(pk__in=by_merge).update(
            state=OutboxMessage.State.PENDING, gate_outcome="", gate_reasons=[]
        )
