"""What the customer mirror holds: the period, its sections and the verdict, as plain records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, cast

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from regard.customers.models import Customer, Identifier
from regard.errors import InvalidInput
from regard.outreach.models import OutboxMessage
from regard.support.models import Conversation

DEFAULT_DAYS = 90
MAX_DAYS = 731  # two years, leap day included
# S20: a new conversation on another channel this soon after an earlier one is the customer
# asking again, not a new matter, when the earlier one was still open or had the same subject.
REPEAT_WINDOW_DAYS = 7
SAME_SUBJECT_SCORE = 70
# The verdict speaks of the last stretch of the period: "contacted 23 times in 30 days".
RECENT_DAYS = 30
# Identifiers a customer would type into a message (their email and phone are how they write).
TYPED_IDENTIFIER_KINDS = (Identifier.Kind.ACCOUNT, Identifier.Kind.ORDER)
RECEIVED_STATES = (OutboxMessage.State.SENT, OutboxMessage.State.UNCERTAIN)
MAX_LISTED = 100
MAX_GATE_LISTED = 30

# How a gate reason reads in the customer's shoes ("held 4× by quiet hours",
# "dropped 2×: offers excluded by you"); codes from outreach.gate, the dispatcher, journeys.
HOLD_WORDS = {
    "quiet_hours": "quiet hours",
    "frequency_week": "the weekly cap",
    "frequency_day": "the daily cap",
    "frequency_purpose": "the cap for its purpose",
    "paused": "your pause",
    "web_cool_off": "the cool-off after a web visit",
    "missing_data": "missing template data",
    "no_sender": "no sender for its channel",
}
DROP_WORDS = {
    "no_consent": "no consent from you",
    "suppressed": "your address is suppressed",
    "no_address": "no address on file",
    "duplicate_content": "you already had it",
    "channel_not_chosen": "a channel you did not choose",
    "topic_excluded": "{topics} excluded by you",
    "audience": "you are outside its audience",
    "frequency_choice": "you want no marketing",
    "expired": "it expired while held",
    "cancelled": "its campaign was cancelled",
    "left_journey": "you left its journey",
}


# --- what the mirror reads -------------------------------------------------------------------

# What the mirror reads of a conversation: measure() reads the timing fields, the repeats and
# feedback sections the rest. Plain rows cost a fraction of model instances with their joins.
CONVERSATION_FIELDS = (
    "id",
    "channel",
    "kind",
    "subject",
    "status",
    "team_id",
    "created_at",
    "first_response_at",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
    "resolution_started_at",
    "resolved_at",
    "sla_breached_at",
    "customer_message_count",
    "handoff_count",
    "reopen_count",
    "sla_policy__first_response_minutes",
    "sla_policy__next_response_minutes",
    "sla_policy__resolution_minutes",
    "survey__score",
    "survey__comment",
    "survey__answered_at",
)


class ConversationRow(NamedTuple):
    pk: int
    channel: str
    kind: str
    subject: str
    status: str
    team_id: int | None
    created_at: datetime
    first_response_at: datetime | None
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    resolution_started_at: datetime | None
    resolved_at: datetime | None
    sla_breached_at: datetime | None
    customer_message_count: int
    handoff_count: int
    reopen_count: int
    first_response_minutes: int | None  # the SLA policy's targets (None: no policy)
    next_response_minutes: int | None
    resolution_minutes: int | None
    survey_score: int | None
    survey_comment: str | None
    survey_answered_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status not in (Conversation.Status.RESOLVED, Conversation.Status.CLOSED)


# --- the period -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    @property
    def days(self) -> int:
        return max(1, round((self.until - self.since).total_seconds() / 86400))


def mirror_period(*, since: datetime | None, until: datetime | None, now: datetime) -> Period:
    """[since, until): default the last 90 days up to now; at most two years; bad input names its field."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and timezone.is_naive(value):
            raise InvalidInput(f"{name}: give a time zone (e.g. 2026-11-01T00:00:00Z).", field=name)
    end = until or now
    start = since or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise InvalidInput("until: must be later than since.", field="until")
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidInput(f"since: the period is longer than {MAX_DAYS} days.", field="since")
    return Period(since=start, until=end)


# --- what the mirror holds --------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    record: str  # "<app.model>:<id>", the row the figure comes from


@dataclass
class ContactWeek:
    week_start: date
    by_channel: dict[str, int]
    marketing: int
    service: int
    above_choice: bool  # more messages than the person chose for a week
    above_cap: bool  # more marketing than the company's own weekly cap

    @property
    def total(self) -> int:
        return self.marketing + self.service


@dataclass
class Contacts:
    weeks: list[ContactWeek]
    channels: list[str]
    total: int
    marketing: int
    service: int
    recent_total: int  # in the last RECENT_DAYS of the period
    recent_days: int
    chosen_per_week: int | None
    chosen_link: Link | None
    cap_per_week: int

    @property
    def weeks_above_choice(self) -> int:
        return sum(1 for w in self.weeks if w.above_choice)

    @property
    def weeks_above_cap(self) -> int:
        return sum(1 for w in self.weeks if w.above_cap)

    @property
    def busiest(self) -> int:
        return max((w.total for w in self.weeks), default=0)


@dataclass
class GateItem:
    outcome: str  # "hold" or "drop"
    state: str
    purpose: str
    channel: str
    created_at: datetime
    reasons: list[str]
    link: Link


@dataclass
class GateSummary:
    held: dict[str, int]
    dropped: dict[str, int]
    sentences: list[str]
    items: list[GateItem]


@dataclass
class WaitOut:
    what: str  # "first response", "next response", "resolution"
    started_at: datetime
    ended_at: datetime | None
    wall_seconds: int
    working_minutes: int
    target_minutes: int | None
    met: bool | None  # None: no target, or still running and not late yet

    @property
    def wall_text(self) -> str:
        return duration_words(self.wall_seconds // 60)

    @property
    def working_text(self) -> str:
        if self.working_minutes < 60:
            return f"{self.working_minutes} min"
        return f"{round(self.working_minutes / 60, 1):g} h"


def duration_words(minutes: int) -> str:
    """54 h → "2 d 6 h"; under an hour in minutes."""
    if minutes < 60:
        return f"{minutes} min"
    days, rest = divmod(minutes, 24 * 60)
    hours = round(rest / 60)
    return f"{days} d {hours} h" if days else f"{hours} h"


@dataclass
class ConversationWaits:
    conversation_id: int
    channel: str
    kind: str
    subject: str
    status: str
    created_at: datetime
    waits: list[WaitOut]
    handoffs: int
    reopenings: int
    working_day_minutes: int
    link: Link

    @property
    def first_response(self) -> WaitOut:
        return self.waits[0]

    @property
    def missed(self) -> int:
        return sum(1 for w in self.waits if w.met is False)


@dataclass
class PromiseItem:
    what: str
    kind: str
    state: str
    created_at: datetime
    due_at: datetime
    settled_at: datetime | None
    link: Link


@dataclass
class Promises:
    made: int
    kept: int
    broken: int
    open: int
    withdrawn: int
    items: list[PromiseItem]


@dataclass
class RepeatItem:
    what: str  # "asked for facts on file", "asked again on another channel", ...
    detail: str
    at: datetime
    link: Link


@dataclass
class Repeats:
    asked_known_facts: int
    asked_again: int
    identifiers_repeated: int
    handoffs: int
    reopenings: int
    items: list[RepeatItem]

    @property
    def total(self) -> int:
        return (
            self.asked_known_facts
            + self.asked_again
            + self.identifiers_repeated
            + self.handoffs
            + self.reopenings
        )


@dataclass
class Signal:
    kind: str  # satisfaction, complaint, unsubscribe, spam_complaint, bounce
    at: datetime
    detail: str
    link: Link
    score: int | None = None


@dataclass
class Feedback:
    satisfaction: list[Signal]
    complaints: list[Signal]
    unsubscribes: list[Signal]
    spam_complaints: list[Signal]
    bounces: list[Signal]


@dataclass
class Reason:
    text: str
    severity: str  # "bad" or "attention"
    link: Link | None = None


@dataclass
class Verdict:
    tone: str  # "bad", "attention", "good"
    headline: str
    reasons: list[Reason]


@dataclass
class Mirror:
    customer: Customer
    group_ids: list[int]
    period: Period
    time_zone: str
    verdict: Verdict
    contacts: Contacts
    gate: GateSummary
    conversations: list[ConversationWaits]
    promises: Promises
    repeats: Repeats
    feedback: Feedback
    links: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> bytes:
        """``as_dict`` as the API sends it, rendered once per mirror (a remembered one is sent again)."""
        rendered = self.__dict__.get("_json")
        if rendered is None:
            rendered = self.__dict__["_json"] = json.dumps(self.as_dict(), cls=DjangoJSONEncoder).encode()
        return cast(bytes, rendered)

    def as_dict(self) -> dict[str, Any]:
        contacts = plain(self.contacts)
        for week, raw in zip(self.contacts.weeks, contacts["weeks"], strict=True):
            raw["total"] = week.total
        contacts |= {
            "weeks_above_choice": self.contacts.weeks_above_choice,
            "weeks_above_cap": self.contacts.weeks_above_cap,
        }
        return {
            "customer_id": self.customer.pk,
            "group_ids": self.group_ids,
            "since": self.period.since,
            "until": self.period.until,
            "time_zone": self.time_zone,
            "verdict": plain(self.verdict),
            "contacts": contacts,
            "gate": plain(self.gate),
            "conversations": plain(self.conversations),
            "promises": plain(self.promises),
            "repeats": plain(self.repeats) | {"total": self.repeats.total},
            "feedback": plain(self.feedback),
            "links": self.links,
        }


_SCALARS = (str, int, float, bool, type(None), datetime, date)


def plain(value: Any) -> Any:
    """dataclasses.asdict without its deep copies: the values here are immutable or fresh.

    A dataclass's ``__dict__`` holds its fields in declaration order (none here has slots or
    extra attributes), so it is read directly instead of through ``dataclasses.fields``.
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if hasattr(type(value), "__dataclass_fields__"):
        return {name: plain(item) for name, item in value.__dict__.items()}
    return value
