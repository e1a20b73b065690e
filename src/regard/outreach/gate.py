"""The one contact gate (DESIGN invariant 1, STYLE habit 4).

``decide`` is a pure function of (message, the customer's contact state, now, policy):
no database, no clock, no settings. The dispatcher calls it inside the claim
transaction against committed state; campaign previews and benchmarks call it too.
Every reason that applies is reported, not only the first.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

WEEK = timedelta(days=7)
DAY = timedelta(days=1)


class Outcome(enum.StrEnum):
    ALLOW = "allow"
    HOLD = "hold"
    DROP = "drop"


class Kind(enum.StrEnum):
    MARKETING = "marketing"
    SERVICE = "service"


@dataclass(frozen=True)
class AudienceRule:
    """Who a message is meant for; empty sets mean "anyone" (S4)."""

    countries: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    bought_categories: frozenset[str] = frozenset()
    not_bought_categories: frozenset[str] = frozenset()

    def misses(self, state: ContactState) -> list[str]:
        problems = []
        if self.countries and state.country not in self.countries:
            problems.append(f"country {state.country or 'unknown'} not in the audience")
        if self.languages and state.language.split("-")[0] not in self.languages:
            problems.append(f"language {state.language} not in the audience")
        if self.bought_categories and not (self.bought_categories & state.bought_categories):
            problems.append("has not bought from the audience's categories")
        if self.not_bought_categories & state.bought_categories:
            problems.append("already bought from an excluded category")
        return problems


@dataclass(frozen=True)
class Message:
    kind: Kind
    purpose: str
    channel: str
    # Same content_key to the same person twice is refused (S1, S12).
    content_key: str
    topics: frozenset[str] = frozenset()
    audience: AudienceRule = AudienceRule()
    # A hold that would end after this becomes a drop: stale offers are not sent late.
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Contact:
    """A message that went out (or may have: uncertain sends count too)."""

    sent_at: datetime
    kind: Kind
    purpose: str
    channel: str
    content_key: str


@dataclass(frozen=True)
class ContactState:
    consent: Mapping[tuple[str, str], bool] = field(default_factory=dict)
    has_address: bool = True
    suppression_reason: str | None = None
    chosen_channels: frozenset[str] = frozenset()
    excluded_topics: frozenset[str] = frozenset()
    max_messages_per_week: int | None = None
    paused_until: datetime | None = None
    time_zone: str = "UTC"
    country: str = ""
    language: str = "en"
    bought_categories: frozenset[str] = frozenset()
    last_web_visit_at: datetime | None = None
    history: Sequence[Contact] = ()
    # Art. 17: when the address was erased (its tombstone), and the (purpose, channel) pairs
    # consented to with proof since; marketing to it waits for such a consent.
    erased_at: datetime | None = None
    consented_since_erasure: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Policy:
    marketing_per_week: int = 3
    marketing_per_day: int = 1
    per_purpose_per_week: Mapping[str, int] = field(default_factory=lambda: {"offers": 2, "surveys": 1})
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    # S16: no marketing within this long after a web visit ("no pouncing").
    web_cool_off: timedelta = timedelta(hours=24)
    consent_free_purposes: frozenset[str] = frozenset({"service"})
    # Quiet hours apply to service messages only on channels that ring or buzz.
    intrusive_channels: frozenset[str] = frozenset({"sms", "phone", "push"})


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Reason:
    code: str
    detail: str
    until: datetime | None = None


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...] = ()
    hold_until: datetime | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW

    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]


# The decisions this module made, by identity (invariant 1). A Decision built anywhere else,
# even an ALLOW one, is not a clearance to send: the sender asks ``made_by_gate``.
_made_by_gate: weakref.WeakValueDictionary[int, Decision] = weakref.WeakValueDictionary()


def _issued(decision: Decision) -> Decision:
    _made_by_gate[id(decision)] = decision
    return decision


def made_by_gate(decision: Decision) -> bool:
    return _made_by_gate.get(id(decision)) is decision


@lru_cache(maxsize=512)
def zone_or_utc(name: str) -> ZoneInfo:
    """The customer's time zone; UTC for a name the zone database does not know."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(now: datetime, zone_name: str, start: time, end: time) -> datetime | None:
    """End of the quiet period ``now`` falls in, in the customer's zone; None if not quiet."""
    local = now.astimezone(zone_or_utc(zone_name))
    t = local.time()
    in_quiet = (start <= t or t < end) if start > end else (start <= t < end)
    if not in_quiet:
        return None
    day = local.date() if t < end else local.date() + DAY
    wake = datetime.combine(day, end, tzinfo=local.tzinfo)
    # Across a DST change the wall-clock time may not exist; normalising keeps it in UTC order.
    return wake.astimezone(now.tzinfo) if wake > local else now + timedelta(minutes=1)


def _cap(
    contacts: Sequence[Contact], *, limit: int, window: timedelta, now: datetime, code: str, detail: str
) -> Reason | None:
    recent = sorted(c.sent_at for c in contacts if now - window < c.sent_at <= now)
    if len(recent) < limit:
        return None
    # The window opens again when enough of the oldest ones leave it.
    until = recent[len(recent) - limit] + window
    return Reason(
        code, f"{detail}: {len(recent)} in the last {window.days or 1} day(s), limit {limit}", until
    )


def decide(message: Message, state: ContactState, now: datetime, policy: Policy = DEFAULT_POLICY) -> Decision:
    drops: list[Reason] = []
    holds: list[Reason] = []
    marketing = message.kind is Kind.MARKETING

    if state.suppression_reason:
        drops.append(Reason("suppressed", f"address is on the suppression list ({state.suppression_reason})"))
    if not state.has_address:
        drops.append(Reason("no_address", f"no {message.channel} address on file"))
    given = state.consent.get((message.purpose, message.channel))
    if message.purpose not in policy.consent_free_purposes and given is not True:
        word = "withdrawn" if given is False else "never given"
        drops.append(Reason("no_consent", f"consent to {message.purpose} by {message.channel} {word}"))
    if any(c.content_key == message.content_key for c in state.history):
        drops.append(Reason("duplicate_content", "this content already reached this person"))

    if marketing:
        if (
            state.erased_at is not None
            and (message.purpose, message.channel) not in state.consented_since_erasure
        ):
            drops.append(
                Reason("erased", "the address was erased (Art. 17); marketing needs a new consent with proof")
            )
        if state.chosen_channels and message.channel not in state.chosen_channels:
            drops.append(
                Reason("channel_not_chosen", f"customer chose {', '.join(sorted(state.chosen_channels))}")
            )
        excluded = message.topics & state.excluded_topics
        if excluded:
            drops.append(Reason("topic_excluded", f"customer excluded {', '.join(sorted(excluded))}"))
        for miss in message.audience.misses(state):
            drops.append(Reason("audience", miss))
        if state.max_messages_per_week == 0:
            drops.append(Reason("frequency_choice", "customer wants no marketing messages"))
        if state.paused_until and state.paused_until > now:
            holds.append(Reason("paused", "customer paused messages", state.paused_until))
        if state.last_web_visit_at and now < state.last_web_visit_at + policy.web_cool_off:
            until = state.last_web_visit_at + policy.web_cool_off
            holds.append(Reason("web_cool_off", "recent web visit; no pouncing (S16)", until))
        sent = [c for c in state.history if c.kind is Kind.MARKETING]
        weekly = policy.marketing_per_week
        if state.max_messages_per_week:
            weekly = min(weekly, state.max_messages_per_week)
        for reason in (
            _cap(sent, limit=weekly, window=WEEK, now=now, code="frequency_week", detail="weekly cap"),
            _cap(
                sent,
                limit=policy.marketing_per_day,
                window=DAY,
                now=now,
                code="frequency_day",
                detail="daily cap",
            ),
            _cap(
                [c for c in sent if c.purpose == message.purpose],
                # A purpose without a cap of its own is bounded by the weekly cap alone.
                limit=policy.per_purpose_per_week.get(message.purpose, weekly + 1),
                window=WEEK,
                now=now,
                code="frequency_purpose",
                detail=f"{message.purpose} cap",
            ),
        ):
            if reason is not None:
                holds.append(reason)

    if marketing or message.channel in policy.intrusive_channels:
        wake = quiet_until(now, state.time_zone, policy.quiet_start, policy.quiet_end)
        if wake is not None:
            holds.append(Reason("quiet_hours", f"night-time in {state.time_zone}", wake))

    if drops:
        return _issued(Decision(Outcome.DROP, tuple(drops + holds)))
    if holds:
        until = max(r.until for r in holds if r.until is not None)
        if message.expires_at is not None and until > message.expires_at:
            expired = Reason("expired", "would only be allowed after the message expires")
            return _issued(Decision(Outcome.DROP, (*holds, expired)))
        return _issued(Decision(Outcome.HOLD, tuple(holds), hold_until=until))
    return _issued(Decision(Outcome.ALLOW))
