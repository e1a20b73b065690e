"""The customer mirror (C6, S23): what the company did to one person, from the records it keeps.

Seed 004: "hold up an unrelenting mirror to the way your firm touches individual customers".
Every figure is computed from the rows themselves (outbox rows with their gate decisions,
conversations and their messages, surveys, promises, consent events, feedback mail), over
the merge group, in a fixed number of queries whatever the length of the history: counts
are aggregated in SQL; only rows that are few by nature (held or dropped messages,
conversations and their messages in the period) are read into Python.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import StrIndex, TruncWeek, Upper
from django.urls import reverse
from django.utils import timezone
from rapidfuzz import fuzz

from regard.consent.models import ConsentEvent, PreferenceChange
from regard.customers.models import Customer, Identifier
from regard.customers.selectors import customer_current, customer_group_ids
from regard.errors import InvalidInput, NotFound
from regard.outreach.models import InboundFeedback, OutboxMessage
from regard.outreach.selectors import settings_policy
from regard.policies.selectors.promises import promises_for_customers
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record_reads
from regard.support.metrics import Wait, measure
from regard.support.models import Conversation, Message
from regard.support.sla import calendar_for
from regard.support.working_time import WorkingCalendar

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
        return _duration(self.wall_seconds // 60)

    @property
    def working_text(self) -> str:
        if self.working_minutes < 60:
            return f"{self.working_minutes} min"
        return f"{round(self.working_minutes / 60, 1):g} h"


def _duration(minutes: int) -> str:
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
        contacts = _plain(self.contacts)
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
            "verdict": _plain(self.verdict),
            "contacts": contacts,
            "gate": _plain(self.gate),
            "conversations": _plain(self.conversations),
            "promises": _plain(self.promises),
            "repeats": _plain(self.repeats) | {"total": self.repeats.total},
            "feedback": _plain(self.feedback),
            "links": self.links,
        }


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _plain(value: Any) -> Any:
    """dataclasses.asdict without its deep copies: the values here are immutable or fresh."""
    if hasattr(type(value), "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


# --- the selector -----------------------------------------------------------------------------


def customer_mirror(
    *,
    actor: AnyUser,
    customer_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    via: str = "api",
    now: datetime | None = None,
) -> Mirror:
    """The mirror of one person (and every profile merged into them) over [since, until).

    A personal-data read: needs MIRROR_READ and writes one audit row per profile shown.
    """
    access.require(actor, Capability.MIRROR_READ)
    now = now or timezone.now()
    period = mirror_period(since=since, until=until, now=now)
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"id: no customer with id {customer_id}.", field="id")
    # An absorbed profile's records live with the survivor now: its mirror is the survivor's.
    customer = customer_current(customer)
    group = customer_group_ids(customer)
    audit_record_reads(
        actor=actor,
        customer_ids=group,
        object_type="mirror",
        via=via,
        detail={"since": period.since.isoformat(), "until": period.until.isoformat()},
    )
    contacts = _contacts(customer, group, period)
    gate = _gate(customer, group, period)
    conversations, conversation_rows = _conversations(group, period, now)
    promises = _promises(group, period)
    repeats = _repeats(group, period, conversation_rows)
    feedback = _feedback(group, period, conversation_rows)
    return Mirror(
        customer=customer,
        group_ids=group,
        period=period,
        time_zone=customer.time_zone,
        verdict=_verdict(contacts, conversations, promises, repeats, feedback, _zone(customer.time_zone)),
        contacts=contacts,
        gate=gate,
        conversations=conversations,
        promises=promises,
        repeats=repeats,
        feedback=feedback,
        links={
            "customer": reverse("customers:detail", args=[customer.pk]),
            "page": reverse("insights:mirror", args=[customer.pk]),
        },
    )


# --- sections ---------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _week_of(moment: datetime, zone: ZoneInfo) -> date:
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


_PLACEHOLDER = 987654321


@lru_cache(maxsize=64)
def _pattern(name: str) -> str:
    # A page lists hundreds of links; resolving each through reverse() cost more than the queries.
    return reverse(name, args=[_PLACEHOLDER])


def _url(name: str, pk: int) -> str:
    return _pattern(name).replace(str(_PLACEHOLDER), str(pk))


def _admin(model: str, pk: int, label: str) -> Link:
    app, name = model.split(".")
    return Link(label, _url(f"admin:{app}_{name}_change", pk), f"{model}:{pk}")


def _customer_link(customer_id: int, label: str, record: str) -> Link:
    return Link(label, _url("customers:detail", customer_id) + "#timeline", record)


def _outbox_link(customer_id: int, row_id: int, campaign_id: int | None) -> Link:
    record = f"outreach.outboxmessage:{row_id}"
    if campaign_id:
        return Link(f"campaign {campaign_id}", _url("outreach:campaign", campaign_id), record)
    return _customer_link(customer_id, f"message {row_id}", record)


def _conversation_link(conversation_id: int, label: str = "") -> Link:
    return Link(
        label or f"conversation {conversation_id}",
        _url("support:conversation", conversation_id),
        f"support.conversation:{conversation_id}",
    )


_QUIET_WEEK: dict[str, Any] = {"by_channel": {}, "marketing": 0, "service": 0}


def _contacts(customer: Customer, group: list[int], period: Period) -> Contacts:
    zone = _zone(customer.time_zone)
    received = OutboxMessage.objects.filter(
        customer_id__in=group,
        sent_at__gte=period.since,
        sent_at__lt=period.until,
        state__in=RECEIVED_STATES,
    )
    # One grouped query: week (in the person's own zone) × channel × kind.
    rows = (
        received.annotate(week=TruncWeek("sent_at", tzinfo=zone))
        .values("week", "channel", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    recent_since = max(period.since, period.until - timedelta(days=RECENT_DAYS))
    recent_total = received.filter(sent_at__gte=recent_since).count()
    preference = (
        PreferenceChange.objects.filter(customer_id__in=group, recorded_at__lt=period.until)
        .order_by("-recorded_at", "-id")
        .first()
    )
    chosen = preference.max_messages_per_week if preference is not None else None
    cap = settings_policy().marketing_per_week
    weeks: dict[date, dict[str, Any]] = {}
    channels: set[str] = set()
    for row in rows:
        week = row["week"]
        week_start = week.date() if isinstance(week, datetime) else week
        slot = weeks.get(week_start)
        if slot is None:
            slot = weeks[week_start] = {"by_channel": Counter(), "marketing": 0, "service": 0}
        slot["by_channel"][row["channel"]] += row["n"]
        slot["marketing" if row["kind"] == OutboxMessage.Kind.MARKETING else "service"] += row["n"]
        channels.add(row["channel"])
    # Every week of the period appears, quiet ones too: a chart with gaps reads as busier.
    out: list[ContactWeek] = []
    start = _week_of(period.since, zone)
    last = _week_of(period.until - timedelta(microseconds=1), zone)
    while start <= last:
        slot = weeks.get(start, _QUIET_WEEK)
        total = slot["marketing"] + slot["service"]
        out.append(
            ContactWeek(
                week_start=start,
                by_channel=dict(sorted(slot["by_channel"].items())),
                marketing=slot["marketing"],
                service=slot["service"],
                above_choice=chosen is not None and total > chosen,
                above_cap=slot["marketing"] > min(cap, chosen if chosen else cap),
            )
        )
        start += timedelta(days=7)
    return Contacts(
        weeks=out,
        channels=sorted(channels),
        total=sum(w.total for w in out),
        marketing=sum(w.marketing for w in out),
        service=sum(w.service for w in out),
        recent_total=recent_total,
        recent_days=min(RECENT_DAYS, period.days),
        chosen_per_week=chosen,
        chosen_link=(
            _admin("consent.preferencechange", preference.pk, "their preferences")
            if preference is not None
            else None
        ),
        cap_per_week=cap,
    )


def _reason_words(reason: dict[str, Any], outcome: str) -> str:
    code = str(reason.get("code", ""))
    words = (HOLD_WORDS if outcome == "hold" else DROP_WORDS).get(code) or HOLD_WORDS.get(code)
    if words is None:
        words = DROP_WORDS.get(code, code.replace("_", " "))
    if "{topics}" in words:
        detail = str(reason.get("detail", ""))
        topics = detail.removeprefix("customer excluded ").strip() or "topics"
        words = words.format(topics=topics)
    return words


def _gate(customer: Customer, group: list[int], period: Period) -> GateSummary:
    # Held rows wait with gate_outcome "hold"; dropped rows keep their reasons. Grouped by the
    # reasons themselves in SQL: a runaway journey's thousand drops are one row here.
    rows = OutboxMessage.objects.filter(
        customer_id__in=group,
        created_at__gte=period.since,
        created_at__lt=period.until,
    ).filter(Q(gate_outcome__in=["hold", "drop"]) | Q(state=OutboxMessage.State.HELD))
    held: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    for group_row in rows.values("state", "gate_reasons").annotate(n=Count("id")).order_by():
        outcome = "drop" if group_row["state"] == OutboxMessage.State.DROPPED else "hold"
        reasons = group_row["gate_reasons"] or []
        words = [_reason_words(r, outcome) for r in reasons]
        # A drop says every reason that applied; the hold words among them are not why it was dropped.
        counted = (
            [_reason_words(r, "drop") for r in reasons if r.get("code") not in HOLD_WORDS]
            if outcome == "drop"
            else words
        ) or words
        for word in dict.fromkeys(counted):
            (dropped if outcome == "drop" else held)[word] += group_row["n"]
    items = [
        GateItem(
            outcome="drop" if row["state"] == OutboxMessage.State.DROPPED else "hold",
            state=row["state"],
            purpose=row["purpose"],
            channel=row["channel"],
            created_at=row["created_at"],
            reasons=[
                _reason_words(r, "drop" if row["state"] == OutboxMessage.State.DROPPED else "hold")
                for r in row["gate_reasons"] or []
            ],
            link=_outbox_link(row["customer_id"], row["id"], row["campaign_id"]),
        )
        for row in rows.values(
            "id", "customer_id", "campaign_id", "state", "purpose", "channel", "created_at", "gate_reasons"
        ).order_by("-created_at", "-id")[:MAX_GATE_LISTED]
    ]
    sentences = [f"held {n}× by {words}" for words, n in sorted(held.items(), key=lambda kv: (-kv[1], kv[0]))]
    sentences += [
        f"dropped {n}×: {words}" for words, n in sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return GateSummary(held=dict(held), dropped=dict(dropped), sentences=sentences, items=items)


def _working_day_minutes(calendar: WorkingCalendar) -> int:
    days = [sum(end - start for start, end in day) for day in calendar.weekly if day]
    return max(days, default=480) or 480


def _wait_out(what: str, wait: Wait, target: int | None, met: bool | None) -> WaitOut:
    if met is None and target is not None and wait.ended_at is not None:
        met = wait.working_minutes <= target
    elif met is None and target is not None and wait.working_minutes > target:
        met = False
    return WaitOut(
        what=what,
        started_at=wait.started_at,
        ended_at=wait.ended_at,
        wall_seconds=wait.wall_seconds,
        working_minutes=wait.working_minutes,
        target_minutes=target,
        met=met,
    )


class RememberedCalendar:
    """A calendar's merged open intervals, walked once per mirror instead of once per wait.

    Forty conversations have hundreds of waits; each asked the calendar to build its days
    again. This yields exactly what ``WorkingCalendar.open_intervals`` yields (it is its
    output, kept), so every working-time figure stays the support desk's own.
    """

    def __init__(self, calendar: WorkingCalendar, since: datetime) -> None:
        self.calendar = calendar
        self.time_zone = calendar.time_zone
        self._since = since
        self._source = calendar.open_intervals(since)
        self._intervals: list[tuple[datetime, datetime]] = []
        self._ends: list[datetime] = []

    def _extend(self) -> None:
        interval = next(self._source)
        self._intervals.append(interval)
        self._ends.append(interval[1])

    def open_intervals(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        if since < self._since:
            yield from self.calendar.open_intervals(since)
            return
        while not self._ends or self._ends[-1] <= since:
            self._extend()
        index = bisect_right(self._ends, since)
        while True:
            while index >= len(self._intervals):
                self._extend()
            yield self._intervals[index]
            index += 1


class _Timing(NamedTuple):
    direction: str
    is_automated: bool
    created_at: datetime


def _conversations(
    group: list[int], period: Period, now: datetime
) -> tuple[list[ConversationWaits], list[Conversation]]:
    rows = list(
        Conversation.objects.filter(customer_id__in=group, created_at__lt=period.until)
        .filter(Q(created_at__gte=period.since) | Q(updated_at__gte=period.since))
        .select_related("team", "sla_policy", "survey")
        .order_by("created_at", "id")
    )
    messages: dict[int, list[Message]] = defaultdict(list)
    if rows:
        # Plain tuples: measure() reads these three fields, and model instances cost more than the query.
        for conversation_id, direction, is_automated, created_at in (
            Message.objects.filter(conversation_id__in=[c.pk for c in rows])
            .exclude(direction=Message.Direction.NOTE)
            .order_by("created_at", "id")
            .values_list("conversation_id", "direction", "is_automated", "created_at")
        ):
            messages[conversation_id].append(cast(Message, _Timing(direction, is_automated, created_at)))
    calendars: dict[int | None, WorkingCalendar] = {}
    remembered: dict[int | None, RememberedCalendar] = {}
    out: list[ConversationWaits] = []
    stop = min(now, period.until)
    first = rows[0].created_at if rows else stop
    for conversation in rows:
        calendar = calendars.get(conversation.team_id)
        if calendar is None:
            calendar = calendars[conversation.team_id] = calendar_for(conversation.team)
            remembered[conversation.team_id] = RememberedCalendar(calendar, first)
        clock = cast(WorkingCalendar, remembered[conversation.team_id])
        measured = measure(conversation, messages[conversation.pk], calendar=clock, now=stop)
        policy = conversation.sla_policy
        waits = [
            _wait_out(
                "first response",
                measured.first_response,
                policy.first_response_minutes if policy else None,
                measured.first_response_met,
            )
        ]
        waits += [
            _wait_out("next response", w, policy.next_response_minutes if policy else None, None)
            for w in measured.next_responses
        ]
        if conversation.resolved_at is not None or conversation.is_open:
            waits.append(
                _wait_out(
                    "resolution",
                    measured.resolution,
                    policy.resolution_minutes if policy else None,
                    measured.resolution_met,
                )
            )
        out.append(
            ConversationWaits(
                conversation_id=conversation.pk,
                channel=conversation.channel,
                kind=conversation.kind,
                subject=conversation.subject,
                status=conversation.status,
                created_at=conversation.created_at,
                waits=waits,
                handoffs=conversation.handoff_count,
                reopenings=conversation.reopen_count,
                working_day_minutes=_working_day_minutes(calendar),
                link=_conversation_link(conversation.pk, conversation.subject or ""),
            )
        )
    return out, rows


def _promises(group: list[int], period: Period) -> Promises:
    rows = list(promises_for_customers(customer_ids=group, since=period.since, until=period.until))
    states = Counter(p.state for p in rows)
    return Promises(
        made=len(rows),
        kept=states["kept"],
        broken=states["broken"],
        open=states["open"],
        withdrawn=states["withdrawn"],
        items=[
            PromiseItem(
                what=p.what,
                kind=p.kind,
                state=p.state,
                created_at=p.created_at,
                due_at=p.due_at,
                settled_at=p.settled_at,
                link=_admin("policies.promise", p.pk, p.what[:60]),
            )
            for p in rows[:MAX_LISTED]
        ],
    )


def _repeats(group: list[int], period: Period, conversations: list[Conversation]) -> Repeats:
    items: list[RepeatItem] = []
    asked_known = 0
    overridden = (
        Message.objects.filter(
            conversation_id__in=[c.pk for c in conversations],
            direction=Message.Direction.OUT,
            created_at__gte=period.since,
            created_at__lt=period.until,
            reply_check__overridden=True,
        )
        .order_by("created_at", "id")
        .values_list("conversation_id", "created_at", "reply_check")
    )
    for conversation_id, created_at, check in overridden if conversations else ():
        facts = [f for f in (check or {}).get("findings", []) if f.get("code") == "asks_known_fact"]
        if facts:
            asked_known += 1
            items.append(
                RepeatItem(
                    "asked for facts on file",
                    "; ".join(str(f.get("excerpt") or f.get("message", "")) for f in facts)[:300],
                    created_at,
                    _conversation_link(conversation_id),
                )
            )
    asked_again = 0
    in_period = [c for c in conversations if period.since <= c.created_at < period.until]
    for later in in_period:
        for earlier in conversations:
            if earlier.created_at >= later.created_at or earlier.channel == later.channel:
                continue
            if later.created_at - earlier.created_at > timedelta(days=REPEAT_WINDOW_DAYS):
                continue
            still_open = earlier.resolved_at is None or earlier.resolved_at > later.created_at
            same_subject = bool(earlier.subject and later.subject) and (
                fuzz.token_set_ratio(earlier.subject.lower(), later.subject.lower()) >= SAME_SUBJECT_SCORE
            )
            if still_open or same_subject:
                asked_again += 1
                items.append(
                    RepeatItem(
                        "asked again on another channel",
                        f"{later.channel} after {earlier.channel} "
                        f"{(later.created_at - earlier.created_at).days} day(s) earlier",
                        later.created_at,
                        _conversation_link(later.pk),
                    )
                )
                break
    # S20: a message of theirs quoting an account or order number we already had, in one query.
    on_file = (
        Identifier.objects.filter(
            customer_id__in=group,
            kind__in=TYPED_IDENTIFIER_KINDS,
            first_seen_at__lt=OuterRef("created_at"),
        )
        .annotate(at=StrIndex(Upper(OuterRef("body_text")), Upper("value_raw")))
        .filter(at__gt=0)
    )
    repeated = list(
        Message.objects.filter(
            # A phone call's record is the agent's note of what the caller said.
            Q(direction=Message.Direction.IN)
            | Q(direction=Message.Direction.NOTE, conversation__channel=Conversation.Channel.PHONE),
            conversation__customer_id__in=group,
            created_at__gte=period.since,
            created_at__lt=period.until,
        )
        .annotate(quotes=Exists(on_file))
        .filter(quotes=True)
        .values_list("id", "conversation_id", "created_at")
        .order_by("created_at", "id")
    )
    for _message_id, conversation_id, created_at in repeated:
        items.append(
            RepeatItem(
                "gave an identifier already on file",
                "quoted an account or order number we had",
                created_at,
                _conversation_link(conversation_id),
            )
        )
    handoffs = sum(c.handoff_count for c in in_period)
    reopenings = sum(c.reopen_count for c in in_period)
    for conversation in in_period:
        if conversation.handoff_count or conversation.reopen_count:
            items.append(
                RepeatItem(
                    "handed on or reopened",
                    f"{conversation.handoff_count} hand-off(s), {conversation.reopen_count} reopening(s)",
                    conversation.created_at,
                    _conversation_link(conversation.pk),
                )
            )
    items.sort(key=lambda i: i.at)
    return Repeats(
        asked_known_facts=asked_known,
        asked_again=asked_again,
        identifiers_repeated=len(repeated),
        handoffs=handoffs,
        reopenings=reopenings,
        items=items[:MAX_LISTED],
    )


def _feedback(group: list[int], period: Period, conversations: list[Conversation]) -> Feedback:
    def inside(moment: datetime | None) -> bool:
        return moment is not None and period.since <= moment < period.until

    satisfaction = []
    complaints = []
    for conversation in conversations:
        survey = getattr(conversation, "survey", None)
        if survey is not None and survey.score is not None and inside(survey.answered_at):
            assert survey.answered_at is not None
            satisfaction.append(
                Signal(
                    "satisfaction",
                    survey.answered_at,
                    survey.comment[:300],
                    _conversation_link(conversation.pk),
                    score=survey.score,
                )
            )
        if conversation.kind == Conversation.Kind.COMPLAINT and inside(conversation.created_at):
            complaints.append(
                Signal(
                    "complaint",
                    conversation.created_at,
                    conversation.subject,
                    _conversation_link(conversation.pk),
                )
            )
    unsubscribes = [
        Signal(
            "unsubscribe",
            event.occurred_at,
            f"{event.purpose} by {event.channel} ({event.get_source_display()})",
            _admin("consent.consentevent", event.pk, f"withdrawal of {event.purpose}"),
        )
        for event in ConsentEvent.objects.filter(
            customer_id__in=group,
            action=ConsentEvent.Action.WITHDRAWN,
            occurred_at__gte=period.since,
            occurred_at__lt=period.until,
        ).order_by("occurred_at", "id")[:MAX_LISTED]
    ]
    spam: list[Signal] = []
    bounces: list[Signal] = []
    for mail in (
        InboundFeedback.objects.filter(
            customer_id__in=group,
            kind__in=[InboundFeedback.Kind.COMPLAINT, InboundFeedback.Kind.BOUNCE],
            received_at__gte=period.since,
            received_at__lt=period.until,
        )
        .only("id", "kind", "status", "detail", "received_at")
        .order_by("received_at", "id")[: 2 * MAX_LISTED]
    ):
        target = spam if mail.kind == InboundFeedback.Kind.COMPLAINT else bounces
        target.append(
            Signal(
                "spam_complaint" if target is spam else "bounce",
                mail.received_at,
                mail.detail[:300],
                _admin("outreach.inboundfeedback", mail.pk, f"{mail.kind} report"),
            )
        )
    return Feedback(
        satisfaction=satisfaction,
        complaints=complaints,
        unsubscribes=unsubscribes,
        spam_complaints=spam,
        bounces=bounces,
    )


# --- the verdict ------------------------------------------------------------------------------


def _day(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%-d %b}"


def _working_days(minutes: int, day_minutes: int) -> str:
    if minutes < day_minutes:
        hours = round(minutes / 60, 1)
        return f"{hours:g} working hour{'s' if hours != 1 else ''}"
    days = round(minutes / day_minutes, 1)
    return f"{days:g} working day{'s' if days != 1 else ''}"


def _verdict(
    contacts: Contacts,
    conversations: list[ConversationWaits],
    promises: Promises,
    repeats: Repeats,
    feedback: Feedback,
    zone: ZoneInfo | None = None,
) -> Verdict:
    zone = zone or ZoneInfo("UTC")
    reasons: list[Reason] = []
    chosen = contacts.chosen_per_week
    if chosen is not None and contacts.weeks_above_choice:
        reasons.append(
            Reason(
                f"Contacted {contacts.recent_total} times in {contacts.recent_days} days "
                f"({contacts.total} in the period: {contacts.marketing} marketing, {contacts.service} service); "
                f"{contacts.weeks_above_choice} week(s) above the {chosen} a week they chose "
                f"(busiest: {contacts.busiest})",
                "bad",
                contacts.chosen_link,
            )
        )
    elif contacts.weeks_above_cap:
        reasons.append(
            Reason(
                f"Sent more marketing than the company's cap of {contacts.cap_per_week} a week "
                f"in {contacts.weeks_above_cap} week(s)",
                "bad",
            )
        )
    broken = [p for p in promises.items if p.state == "broken"]
    if broken:
        latest = max(broken, key=lambda p: p.settled_at or p.due_at)
        when = _day(latest.settled_at or latest.due_at, zone)
        text = (
            f"A promise broken on {when}"
            if len(broken) == 1
            else f"{len(broken)} promises broken (latest {when})"
        )
        reasons.append(Reason(f"{text}: {latest.what}", "bad", latest.link))
    complaint_waits = [(c, c.first_response) for c in conversations if c.kind == Conversation.Kind.COMPLAINT]
    if complaint_waits:
        conversation, wait = max(complaint_waits, key=lambda cw: cw[1].working_minutes)
        # S14: a complaint is answered within one working day.
        if wait.working_minutes > conversation.working_day_minutes or wait.met is False:
            waited = _working_days(wait.working_minutes, conversation.working_day_minutes)
            still = " and is still waiting" if wait.ended_at is None else ""
            reasons.append(Reason(f"Waited {waited} for a complaint answer{still}", "bad", conversation.link))
    missed = sum(c.missed for c in conversations)
    if missed:
        worst = max(conversations, key=lambda c: c.missed)
        reasons.append(Reason(f"{missed} wait(s) longer than the SLA", "bad", worst.link))
    low = [s for s in feedback.satisfaction if s.score is not None and s.score <= 2]
    if low:
        reasons.append(Reason(f"Rated us {low[-1].score}/5 on {_day(low[-1].at, zone)}", "bad", low[-1].link))
    if feedback.spam_complaints:
        last = feedback.spam_complaints[-1]
        reasons.append(Reason(f"Reported our mail as spam on {_day(last.at, zone)}", "bad", last.link))
    if feedback.unsubscribes:
        last = feedback.unsubscribes[-1]
        reasons.append(
            Reason(
                f"Unsubscribed {len(feedback.unsubscribes)}× (latest {_day(last.at, zone)})",
                "attention",
                last.link,
            )
        )
    if repeats.total:
        parts = [
            (repeats.asked_known_facts, "asked for facts on file"),
            (repeats.asked_again, "asked again on another channel"),
            (repeats.identifiers_repeated, "gave an identifier we had"),
            (repeats.handoffs, "handed on"),
            (repeats.reopenings, "reopened"),
        ]
        words = ", ".join(f"{what} {n}×" for n, what in parts if n)
        first = repeats.items[0].link if repeats.items else None
        reasons.append(Reason(f"Had to repeat themselves: {words}", "attention", first))
    if feedback.complaints:
        reasons.append(
            Reason(f"Complained {len(feedback.complaints)}×", "attention", feedback.complaints[-1].link)
        )
    if feedback.bounces:
        reasons.append(
            Reason(f"{len(feedback.bounces)} message(s) bounced", "attention", feedback.bounces[-1].link)
        )
    if any(r.severity == "bad" for r in reasons):
        tone, headline = "bad", "Treated worse than they should have been"
    elif reasons:
        tone, headline = "attention", "Some things to look at"
    else:
        tone, headline = (
            "good",
            (
                f"Nothing in this period points to a bad experience: {contacts.total} message(s), "
                "within their choices; answers within the SLA"
            ),
        )
    return Verdict(tone=tone, headline=headline, reasons=reasons)
