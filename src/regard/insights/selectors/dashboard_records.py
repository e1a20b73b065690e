"""What the records say about a stretch of time: the dashboard's figures before they are added up.

The rollup builder (`insights.services.rollups`) and the dashboard's live part (today, the
partial days at a period's edges, days not rolled up yet) both read the records through
these functions, so a day's figures are the same whichever way they reach the page.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from django.db import connection
from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncDate, TruncMonth

from regard.consent.models import ConsentEvent
from regard.customers.models import Order
from regard.outreach.models import InboundFeedback, OutboxMessage
from regard.support.models import Conversation, SatisfactionSurvey, Team
from regard.support.sla import calendar_for
from regard.support.working_time import WorkingCalendar, working_time_between

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Range = tuple[datetime, datetime]


def micros(moment: datetime) -> int:
    """A moment as whole microseconds since the epoch: exact, so it compares like the datetime."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def in_ranges(name: str, ranges: Sequence[Range]) -> Q:
    """``name`` falls in one of the half-open ranges (an empty list matches nothing)."""
    condition = Q(pk__in=[])
    for start, end in ranges:
        condition |= Q(**{f"{name}__gte": start, f"{name}__lt": end})
    return condition


# --- conversations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    minutes: int  # whole working minutes, as `working_minutes_between` counts them
    seconds: int  # whole working seconds, for sums and means


@dataclass
class Measured:
    """One conversation, measured: where it is counted and what it tells."""

    day: date
    channel: str
    team_id: int | None
    team_label: str
    week: str
    first_response: Wait | None
    resolution: Wait | None
    sla_met: int
    sla_missed: int
    # Targets not reached (yet): missed once their due time is before the period's end.
    sla_open_due: list[int] = field(default_factory=list)
    complaint: bool = False
    survey_sent: bool = False
    score: int | None = None


class WorkingClock:
    """Working time in one calendar from a fixed start, by bisection over its open intervals.

    The same sum as `working_time_between` (the open time inside [a, b), in whole
    microseconds), but each interval is found once for all the conversations of a read
    instead of being walked again for every wait.
    """

    def __init__(self, calendar: WorkingCalendar, start: datetime) -> None:
        self.calendar = calendar
        self.start = start
        self._intervals = calendar.open_intervals(start)
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._before: list[int] = []  # working microseconds from ``start`` to each interval

    def _extend(self, until: int) -> None:
        while not self._ends or self._ends[-1] < until:
            open_at, close_at = next(self._intervals)
            before = self._before[-1] + self._ends[-1] - self._starts[-1] if self._ends else 0
            self._starts.append(micros(open_at))
            self._ends.append(micros(close_at))
            self._before.append(before)

    def _since_start(self, moment: datetime) -> int:
        at = micros(moment)
        self._extend(at)
        index = bisect_right(self._starts, at) - 1
        if index < 0:
            return 0
        return self._before[index] + min(at, self._ends[index]) - self._starts[index]

    def wait(self, start: datetime, end: datetime) -> Wait:
        if start < self.start or end < start:
            return _wait(start, end, self.calendar)  # a reply dated before the opening: walk it
        span = timedelta(microseconds=self._since_start(end) - self._since_start(start))
        return Wait(int(span.total_seconds() // 60), int(span.total_seconds()))


def _wait(start: datetime, end: datetime, calendar: WorkingCalendar) -> Wait:
    if end >= start:
        span = working_time_between(start, end, calendar)
        return Wait(int(span.total_seconds() // 60), int(span.total_seconds()))
    span = working_time_between(end, start, calendar)
    return Wait(-int(span.total_seconds() // 60), -int(span.total_seconds()))


CONVERSATION_FIELDS = (
    "pk",
    "channel",
    "kind",
    "team_id",
    "created_at",
    "first_response_at",
    "resolved_at",
    "first_response_due_at",
    "resolution_due_at",
)


def conversations_measured(
    ranges: Sequence[Range], *, channel: str = "", team: Team | None = None
) -> Iterator[Measured]:
    """Every conversation opened in the ranges, measured in its team's working time (three queries)."""
    if not ranges:
        return
    conversations: QuerySet[Conversation] = Conversation.objects.filter(in_ranges("created_at", ranges))
    if channel:
        conversations = conversations.filter(channel=channel)
    if team is not None:
        conversations = conversations.filter(team=team)
    # A survey counts once it was sent; its score, if the customer answered.
    surveys = dict(
        SatisfactionSurvey.objects.filter(conversation__in=conversations.values("pk"), sent_at__isnull=False)
        .order_by()
        .values_list("conversation_id", "score")
    )
    start = min(begin for begin, _ in ranges)
    teams: dict[int | None, tuple[str, WorkingClock]] = {
        row.pk: (row.name, WorkingClock(calendar_for(row), start)) for row in Team.objects.all()
    }
    rows = conversations.order_by().values_list(*CONVERSATION_FIELDS)
    for (
        pk,
        kind_of_channel,
        kind,
        team_id,
        created_at,
        first_at,
        resolved_at,
        first_due,
        resolution_due,
    ) in rows.iterator(chunk_size=5000):
        known = teams.get(team_id)
        if known is None:  # no team (the default calendar), or one made since the teams were read
            row = Team.objects.filter(pk=team_id).first() if team_id is not None else None
            known = teams[team_id] = (row.name if row else "No team", WorkingClock(calendar_for(row), start))
        label, clock = known
        met = missed = 0
        open_due: list[int] = []
        for done, due in ((first_at, first_due), (resolved_at, resolution_due)):
            if due is None:
                continue
            if done is None:
                open_due.append(micros(due))
            elif done <= due:
                met += 1
            else:
                missed += 1
        sent = pk in surveys
        yield Measured(
            day=created_at.astimezone(UTC).date(),
            channel=kind_of_channel,
            team_id=team_id,
            team_label=label,
            week=created_at.astimezone(clock.calendar.zone).strftime("%G-W%V"),
            first_response=clock.wait(created_at, first_at) if first_at else None,
            resolution=clock.wait(created_at, resolved_at) if resolved_at else None,
            sla_met=met,
            sla_missed=missed,
            sla_open_due=open_due,
            complaint=kind == Conversation.Kind.COMPLAINT,
            survey_sent=sent,
            score=surveys[pk] if sent else None,
        )


# --- campaigns -----------------------------------------------------------------------------

# (day or None, campaign id) → [sent, unsubscribes, spam complaints]
CampaignCounts = dict[tuple[date | None, int], list[int]]


def campaign_counts(ranges: Sequence[Range], *, by_day: bool) -> CampaignCounts:
    """Messages sent per campaign in the ranges, and the unsubscribes and spam complaints received
    in them about a campaign's message (attributed through the message, as the ledger proves it)."""
    counts: CampaignCounts = defaultdict(lambda: [0, 0, 0])
    if not ranges:
        return counts
    sent = OutboxMessage.objects.filter(
        in_ranges("sent_at", ranges), state=OutboxMessage.State.SENT, campaign__isnull=False
    )
    for row in _per_day(sent, "sent_at", "campaign_id", by_day=by_day):
        counts[(row.get("day"), row["campaign_id"])][0] += row["n"]
    # An unsubscribe names the message it came from in its proof; the message names its campaign.
    campaign_of_message = OutboxMessage.objects.filter(
        message_id=KeyTextTransform("message_id", OuterRef("proof")), campaign__isnull=False
    ).exclude(message_id="")
    withdrawals = (
        ConsentEvent.objects.filter(in_ranges("recorded_at", ranges), action=ConsentEvent.Action.WITHDRAWN)
        .annotate(attributed_to=Subquery(campaign_of_message.values("campaign_id")[:1]))
        .filter(attributed_to__isnull=False)
    )
    for row in _per_day(withdrawals, "recorded_at", "attributed_to", by_day=by_day):
        counts[(row.get("day"), row["attributed_to"])][1] += row["n"]
    complaints = InboundFeedback.objects.filter(
        in_ranges("received_at", ranges),
        kind=InboundFeedback.Kind.COMPLAINT,
        outbox_message__campaign__isnull=False,
    )
    for row in _per_day(complaints, "received_at", "outbox_message__campaign_id", by_day=by_day):
        counts[(row.get("day"), row["outbox_message__campaign_id"])][2] += row["n"]
    return counts


def _per_day(rows: QuerySet, moment: str, key: str, *, by_day: bool) -> QuerySet:
    """Counts of ``key`` (never null here) per ``key`` and per UTC day of ``moment``, in the database."""
    if by_day:
        return (
            rows.order_by()
            .annotate(day=TruncDate(moment, tzinfo=UTC))
            .values(key, "day")
            .annotate(n=Count(key))
        )
    return rows.order_by().values(key).annotate(n=Count(key))


# --- contact pressure ----------------------------------------------------------------------


@dataclass(frozen=True)
class Pressure:
    distribution: dict[int, int]  # messages → customers who got exactly that many
    by_campaign: int
    by_journey: int
    by_service: int


def pressure_counts(start: datetime, end: datetime) -> Pressure:
    """Messages sent to each customer in [start, end), counted per customer in the database (two queries)."""
    week = OutboxMessage.objects.filter(state=OutboxMessage.State.SENT, sent_at__gte=start, sent_at__lt=end)
    # Counted by columns the outbox's "sent" index holds, so PostgreSQL can answer from it alone.
    per_customer = week.order_by().values("customer_id").annotate(n=Count("customer_id")).values("n")
    inner, params = per_customer.query.sql_with_params()
    with connection.cursor() as cursor:
        # Counted per customer, then customers per count: a few rows back, not one per customer.
        cursor.execute(f"SELECT n, COUNT(*) FROM ({inner}) per_customer GROUP BY n", params)  # nosec B608 # the ORM's own SQL, values as parameters
        distribution = {int(n): int(customers) for n, customers in cursor.fetchall()}
    sources = week.aggregate(
        by_campaign=Count("customer_id", filter=Q(campaign__isnull=False)),
        by_journey=Count("customer_id", filter=~Q(journey="")),
        by_service=Count(
            "customer_id", filter=Q(kind=OutboxMessage.Kind.SERVICE, campaign__isnull=True, journey="")
        ),
    )
    return Pressure(distribution, sources["by_campaign"], sources["by_journey"], sources["by_service"])


def days_between(first: date, last: date) -> Iterable[date]:
    """Every day from ``first`` to ``last``, both included."""
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def pressure_brought_up(pressure: Pressure, as_of: datetime, until: datetime) -> Pressure:
    """The week before ``until`` from the week before ``as_of`` (a rollup) and what changed since.

    Only customers who got a message after ``as_of`` or in the week's first ``until - as_of``
    can count differently in the two weeks; each is counted again in the database, in one
    query, and moved from their old count to their new one. Everyone else got the same
    messages in both weeks.
    """
    old_start, new_start = as_of - timedelta(days=7), until - timedelta(days=7)
    sent = OutboxMessage.objects.filter(state=OutboxMessage.State.SENT)
    touched = sent.filter(
        Q(sent_at__gte=as_of, sent_at__lt=until) | Q(sent_at__gte=old_start, sent_at__lt=new_start)
    ).values("customer_id")
    old = Q(sent_at__lt=as_of)
    new = Q(sent_at__gte=new_start)
    sources = {
        "campaign": Q(campaign__isnull=False),
        "journey": ~Q(journey=""),
        "service": Q(kind=OutboxMessage.Kind.SERVICE, campaign__isnull=True, journey=""),
    }
    rows = (
        sent.filter(customer_id__in=touched, sent_at__gte=old_start, sent_at__lt=until)
        .order_by()
        .values("customer_id")
        .annotate(
            old=Count("customer_id", filter=old),
            new=Count("customer_id", filter=new),
            **{f"old_{name}": Count("customer_id", filter=old & q) for name, q in sources.items()},
            **{f"new_{name}": Count("customer_id", filter=new & q) for name, q in sources.items()},
        )
    )
    distribution = dict(pressure.distribution)
    totals = {
        "campaign": pressure.by_campaign,
        "journey": pressure.by_journey,
        "service": pressure.by_service,
    }
    for row in cast(Iterable[dict[str, Any]], rows):
        for count, change in ((row["old"], -1), (row["new"], 1)):
            if count:
                distribution[count] = distribution.get(count, 0) + change
        for name in sources:
            totals[name] += row[f"new_{name}"] - row[f"old_{name}"]
    return Pressure(
        {n: c for n, c in sorted(distribution.items()) if c},
        totals["campaign"],
        totals["journey"],
        totals["service"],
    )


# --- retention -----------------------------------------------------------------------------

# Per month of a first order ("2026-05"): customers who ordered in the period before, and how
# many of them ordered again in the period.
Cohorts = dict[str, tuple[int, int]]


def _month(moment: Any) -> str:
    # A month comes back as a datetime (PostgreSQL) or as text (SQLite).
    return str(moment)[:7] if isinstance(moment, str) else moment.astimezone(UTC).strftime("%Y-%m")


def retention_cohorts(
    since: datetime, until: datetime, *, recorded_before: datetime | None = None
) -> Cohorts:
    """Customers who ordered in the period before [since, until), by the month they first ordered.

    One query: per customer who ordered before, the first order ever and the orders in this
    period, then customers per first month, counted in the database. ``recorded_before``
    counts only the orders recorded by then (what a rollup built at that moment saw).
    """
    length = until - since
    orders = Order.objects.all()
    if recorded_before is not None:
        orders = orders.filter(recorded_at__lt=recorded_before)
    ordered_before = orders.filter(purchased_at__gte=since - length, purchased_at__lt=since).values(
        "customer_id"
    )
    per_customer = (
        orders.filter(customer_id__in=ordered_before)
        .order_by()
        .values("customer_id")
        .annotate(
            first_month=TruncMonth(Min("purchased_at"), tzinfo=UTC),
            again=Count("id", filter=Q(purchased_at__gte=since, purchased_at__lt=until)),
        )
    )
    inner, params = per_customer.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT first_month, COUNT(*), SUM(CASE WHEN again > 0 THEN 1 ELSE 0 END)"  # nosec B608 # the ORM's own SQL, values as parameters
            f" FROM ({inner}) per_customer GROUP BY first_month",
            params,
        )
        return {_month(month): (int(n), int(again)) for month, n, again in cursor.fetchall()}


def retention_brought_up(cohorts: Cohorts, since: datetime, as_of: datetime, until: datetime) -> Cohorts:
    """Retention for [since, until) from a rollup's for [since, as_of) and what changed since.

    A customer can count differently only with an order recorded after ``as_of`` (whatever its
    date), bought after ``as_of``, or bought in the stretch the period before grows by (it is
    as long as the period). Each is counted again in one query, as the rollup saw them
    (orders recorded before ``as_of``) and as they are, and moved between cohorts.
    """
    old_start, new_start = since - (as_of - since), since - (until - since)
    touched = Order.objects.filter(
        Q(recorded_at__gte=as_of)
        | Q(purchased_at__gte=as_of, purchased_at__lt=until)
        | Q(purchased_at__gte=new_start, purchased_at__lt=old_start)
    ).values("customer_id")
    seen = Q(recorded_at__lt=as_of)
    rows = (
        Order.objects.filter(customer_id__in=touched)
        .order_by()
        .values("customer_id")
        .annotate(
            old_before=Count("id", filter=seen & Q(purchased_at__gte=old_start, purchased_at__lt=since)),
            old_again=Count("id", filter=seen & Q(purchased_at__gte=since, purchased_at__lt=as_of)),
            old_first=Min("purchased_at", filter=seen),
            new_before=Count("id", filter=Q(purchased_at__gte=new_start, purchased_at__lt=since)),
            new_again=Count("id", filter=Q(purchased_at__gte=since, purchased_at__lt=until)),
            new_first=Min("purchased_at"),
        )
    )
    counts = {month: list(pair) for month, pair in cohorts.items()}
    for row in rows:
        for before, again, first, change in (
            (row["old_before"], row["old_again"], row["old_first"], -1),
            (row["new_before"], row["new_again"], row["new_first"], 1),
        ):
            if before:
                pair = counts.setdefault(_month(first), [0, 0])
                pair[0] += change
                pair[1] += change * (again > 0)
    return {month: (n, again) for month, (n, again) in counts.items() if n}
