"""The line of chat customers waiting for a person: real places and honest estimates (S17).

A chat conversation joins the line (``queued_at``) with its first message, and again when the
customer asks for a person after one has already answered. It leaves the line when a person
writes to the customer (a reply after ``queued_at``; assigning alone talks to nobody) or when
it is resolved. The place in line is counted, never guessed; the wait estimate comes from how
long recent customers of the same team actually waited, and is "unknown" when there is too
little to go on, when nobody is online, or when this customer has already waited longer than
that.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from regard.support.models import AgentPresence, Conversation, Message

WAITING_STATUSES = (Conversation.Status.NEW, Conversation.Status.OPEN, Conversation.Status.WAITING)
# Pick-ups this recent inform the estimate; fewer than MIN_SAMPLES of them and we say "unknown".
ESTIMATE_WINDOW = timedelta(hours=2)
ESTIMATE_SAMPLES = 20
MIN_SAMPLES = 3
# An agent whose inbox page has not been heard from for this long no longer counts as online.
PRESENCE_TIMEOUT = timedelta(seconds=90)
# In the visitor's language (the chat consumer activates it); "person" stays findable in it.
PERSON_HINT = gettext_lazy("Type “person” or press “Talk to a person” at any time to reach one of us.")


@dataclass(frozen=True)
class QueuePlace:
    conversation_id: int
    position: int  # 1 = next to be answered
    waiting: int  # everyone in this line
    estimate_seconds: int | None  # None = unknown, never invented
    agents_online: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueuePlace:
        return cls(
            conversation_id=int(data["conversation"]),
            position=int(data["position"]),
            waiting=int(data["waiting"]),
            estimate_seconds=data["estimate_seconds"],
            agents_online=int(data["agents_online"]),
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "conversation": self.conversation_id,
            "position": self.position,
            "waiting": self.waiting,
            "estimate_seconds": self.estimate_seconds,
            "agents_online": self.agents_online,
            "text": describe(self),
        }


def _team(team_id: int | None) -> Q:
    return Q(team__isnull=True) if team_id is None else Q(team_id=team_id)


def waiting_conversations() -> QuerySet[Conversation]:
    """Chat conversations in line, first come first served."""
    return (
        Conversation.objects.filter(
            channel=Conversation.Channel.CHAT, queued_at__isnull=False, status__in=WAITING_STATUSES
        )
        .filter(Q(last_agent_message_at__isnull=True) | Q(last_agent_message_at__lt=F("queued_at")))
        .order_by("queued_at", "pk")
    )


def is_waiting(conversation: Conversation) -> bool:
    return waiting_conversations().filter(pk=conversation.pk).exists()


def agents_online(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return (
        AgentPresence.objects.filter(seen_at__gte=now - PRESENCE_TIMEOUT).values("user_id").distinct().count()
    )


def recent_waits(*, team_id: int | None, now: datetime | None = None) -> list[float]:
    """Seconds from joining the line to a person's first reply, newest pick-ups first."""
    now = now or timezone.now()
    first_reply = (
        Message.objects.filter(
            conversation=OuterRef("pk"),
            direction=Message.Direction.OUT,
            is_automated=False,
            created_at__gte=OuterRef("queued_at"),
        )
        .order_by("created_at")
        .values("created_at")[:1]
    )
    rows = (
        Conversation.objects.filter(
            _team(team_id),
            channel=Conversation.Channel.CHAT,
            queued_at__gte=now - ESTIMATE_WINDOW,
            last_agent_message_at__gte=F("queued_at"),
        )
        .annotate(picked_up_at=Subquery(first_reply))
        .filter(picked_up_at__isnull=False)
        .order_by("-picked_up_at")
        .values_list("queued_at", "picked_up_at")[:ESTIMATE_SAMPLES]
    )
    return [(picked - queued).total_seconds() for queued, picked in rows]


def wait_estimate(
    *, team_id: int | None, waited_seconds: float, online: int, now: datetime | None = None
) -> int | None:
    if online == 0:
        return None
    waits = recent_waits(team_id=team_id, now=now)
    if len(waits) < MIN_SAMPLES:
        return None
    typical = statistics.median(waits)
    if waited_seconds >= typical:
        return None  # waiting longer than usual already: any number would be made up
    return round(typical - waited_seconds)


def queue_places(*, team_id: int | None, now: datetime | None = None) -> list[QueuePlace]:
    """Every place in one team's line (None: chats without a team), for pushing as it moves."""
    now = now or timezone.now()
    rows = list(waiting_conversations().filter(_team(team_id)).values_list("pk", "queued_at"))
    online = agents_online(now=now)
    waits = recent_waits(team_id=team_id, now=now) if online else []
    typical = statistics.median(waits) if len(waits) >= MIN_SAMPLES else None
    places = []
    for index, (pk, queued_at) in enumerate(rows):
        waited = (now - queued_at).total_seconds() if queued_at else 0.0
        estimate = round(typical - waited) if typical is not None and waited < typical else None
        places.append(QueuePlace(pk, index + 1, len(rows), estimate, online))
    return places


def queue_place(conversation: Conversation, *, now: datetime | None = None) -> QueuePlace | None:
    """This conversation's place in its line, or None when it is not waiting (a few counts)."""
    now = now or timezone.now()
    line = waiting_conversations().filter(_team(conversation.team_id))
    queued_at = line.filter(pk=conversation.pk).values_list("queued_at", flat=True).first()
    if queued_at is None:
        return None
    ahead = line.filter(Q(queued_at__lt=queued_at) | Q(queued_at=queued_at, pk__lt=conversation.pk)).count()
    online = agents_online(now=now)
    waited = (now - queued_at).total_seconds()
    estimate = wait_estimate(team_id=conversation.team_id, waited_seconds=waited, online=online, now=now)
    return QueuePlace(conversation.pk, ahead + 1, line.count(), estimate, online)


def _duration(seconds: int) -> str:
    if seconds < 60:
        return gettext("less than a minute")
    minutes = round(seconds / 60)
    return ngettext("about %(minutes)d minute", "about %(minutes)d minutes", minutes) % {"minutes": minutes}


def describe(place: QueuePlace) -> str:
    """What the customer reads, in the active language. Honest: a count, and an estimate only
    when there is one."""
    ahead = place.position - 1
    line = (
        gettext("You are next in line for a person.")
        if ahead == 0
        else gettext("You are number %(position)d in line for a person (%(ahead)d ahead of you).")
        % {"position": place.position, "ahead": ahead}
    )
    if place.agents_online == 0:
        wait = gettext(
            "Nobody is online right now, so the wait is unknown: you can leave your email address"
            " and we answer by email."
        )
    elif place.estimate_seconds is None:
        wait = gettext("Estimated wait: unknown.")
    else:
        wait = gettext("Estimated wait: %(duration)s.") % {"duration": _duration(place.estimate_seconds)}
    return f"{line} {wait}"
