"""What the customer mirror holds: the period, its sections and the verdict, as plain records."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from regard.customers.models import Customer, Identifier
from regard.errors import InvalidInput
from regard.outreach.models import OutboxMessage

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


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def plain(value: Any) -> Any:
    """dataclasses.asdict without its deep copies: the values here are immutable or fresh."""
    if hasattr(type(value), "__dataclass_fields__"):
        return {name: plain(getattr(value, name)) for name in field_names(type(value))}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value
