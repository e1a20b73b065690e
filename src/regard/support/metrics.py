"""What one conversation was like for the customer, measured (C4, S9): not only the first response.

First response, every next response, resolution — each in working time (the team's calendar)
and wall time — plus how often the customer wrote, hand-offs and reopenings. Computed from the
messages themselves, so the figures hold for conversations older than the measuring.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from regard.errors import NotFound
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.support.models import Conversation, Message
from regard.support.sla import calendar_for
from regard.support.working_time import WorkingCalendar, working_minutes_between


@dataclass(frozen=True)
class Wait:
    """One stretch the customer waited: from ``started_at`` until ``ended_at`` (None: still waiting)."""

    started_at: datetime
    ended_at: datetime | None
    wall_seconds: int
    working_minutes: int
    due_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class ConversationMetrics:
    conversation_id: int
    time_zone: str
    first_response: Wait
    resolution: Wait
    next_responses: list[Wait] = field(default_factory=list)
    customer_messages: int = 0
    agent_messages: int = 0
    handoffs: int = 0
    reopenings: int = 0
    first_response_met: bool | None = None  # None: no target, or not answered yet and not yet late
    resolution_met: bool | None = None
    sla_breached_at: datetime | None = None
    satisfaction_score: int | None = None  # 1–5, once the customer answered the question

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _wait(
    start: datetime,
    end: datetime | None,
    now: datetime,
    calendar: WorkingCalendar,
    due_at: datetime | None = None,
) -> Wait:
    stop = end or now
    return Wait(
        started_at=start,
        ended_at=end,
        wall_seconds=max(0, int((stop - start).total_seconds())),
        working_minutes=max(0, working_minutes_between(start, stop, calendar)),
        due_at=due_at,
    )


def _met(done_at: datetime | None, due_at: datetime | None, now: datetime) -> bool | None:
    if due_at is None:
        return None
    if done_at is not None:
        return done_at <= due_at
    return False if now > due_at else None


def measure(
    conversation: Conversation,
    messages: list[Message],
    *,
    calendar: WorkingCalendar,
    now: datetime,
    satisfaction: int | None = None,
) -> ConversationMetrics:
    """The figures for one conversation from its messages (oldest first); pure apart from its inputs."""
    replies = [m for m in messages if m.direction == Message.Direction.OUT and not m.is_automated]
    first_answer = conversation.first_response_at or (replies[0].created_at if replies else None)
    first = _wait(conversation.created_at, first_answer, now, calendar, conversation.first_response_due_at)
    # Each next response: the customer writes after being answered, and waits for the next answer.
    waits: list[Wait] = []
    waiting_since: datetime | None = None
    answered = False
    for message in messages:
        if message.direction == Message.Direction.OUT and not message.is_automated:
            if waiting_since is not None:
                waits.append(_wait(waiting_since, message.created_at, now, calendar))
            waiting_since, answered = None, True
        elif message.direction == Message.Direction.IN and answered and waiting_since is None:
            waiting_since = message.created_at
    if waiting_since is not None:
        waits.append(_wait(waiting_since, None, now, calendar, conversation.next_response_due_at))
    resolution_start = conversation.resolution_started_at or conversation.created_at
    if conversation.resolved_at is not None:
        # Time to the (latest) resolution, from the opening: what the customer lived through.
        resolution = _wait(
            conversation.created_at, conversation.resolved_at, now, calendar, conversation.resolution_due_at
        )
    else:
        resolution = _wait(resolution_start, None, now, calendar, conversation.resolution_due_at)
    return ConversationMetrics(
        conversation_id=conversation.pk,
        time_zone=calendar.time_zone,
        first_response=first,
        next_responses=waits,
        resolution=resolution,
        customer_messages=conversation.customer_message_count,
        agent_messages=len(replies),
        handoffs=conversation.handoff_count,
        reopenings=conversation.reopen_count,
        first_response_met=_met(first_answer, conversation.first_response_due_at, now),
        resolution_met=_met(conversation.resolved_at, conversation.resolution_due_at, now),
        sla_breached_at=conversation.sla_breached_at,
        satisfaction_score=satisfaction,
    )


def conversation_metrics(
    *, actor: AnyUser, conversation_id: int, now: datetime | None = None
) -> ConversationMetrics:
    """Timings only, no message content: needs the right to read conversations."""
    access.require(actor, Capability.CONVERSATION_READ)
    conversation = Conversation.objects.select_related("team").filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound(f"conversation: no conversation {conversation_id}.", field="conversation")
    messages = list(
        conversation.messages.only("direction", "is_automated", "created_at", "conversation_id").order_by(
            "created_at", "id"
        )
    )
    return measure(
        conversation, messages, calendar=calendar_for(conversation.team), now=now or timezone.now()
    )
