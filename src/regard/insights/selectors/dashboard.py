"""The service dashboard: how the company treats people, in aggregates only (C6, S9, S21).

Every figure comes from the records — conversations and their messages, survey answers,
outbox rows, consent events, feedback reports, orders — for the period asked. Whole days
that are over are read from the daily rollups (`insights.services.rollups`), which are
rebuilt from those records and never counted up, so they cannot drift; today, the partial
days at a period's edges and days not rolled up yet are read from the records themselves.
Percentiles over rolled-up days come from fixed buckets (`insights.buckets`): the upper end
of the bucket holding the exact figure, at most 10% above it. No names: analysts read it too.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum

from regard.insights.buckets import bucket_percentile, bucketed
from regard.insights.models import CampaignDay, PressureDay, ServiceDay
from regard.insights.selectors.dashboard_period import (
    DEFAULT_PERIOD,
    MAX_PERIOD,
    PRESSURE_BUCKETS,
    STANDING_REACH,
    Filters,
    Plan,
    Standing,
    dashboard_filters,
    default_since,
    period_plan,
)
from regard.insights.selectors.dashboard_records import (
    Pressure,
    Wait,
    campaign_counts,
    conversations_measured,
    micros,
    midnight,
    pressure_brought_up,
    pressure_counts,
    retention_brought_up,
    retention_cohorts,
)
from regard.outreach.models import Campaign
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability

# The period's names (dashboard_period) stay where callers have always imported them from.
__all__ = [
    "DEFAULT_PERIOD",
    "MAX_PERIOD",
    "PRESSURE_BUCKETS",
    "STANDING_REACH",
    "Filters",
    "Plan",
    "Standing",
    "campaign_rates",
    "contact_pressure",
    "dashboard_filters",
    "default_since",
    "percentile",
    "period_plan",
    "retention",
    "rows_as_csv",
    "service_dashboard",
    "service_rows",
]


def percentile(values: list[int], share: float) -> int | None:
    """The nearest-rank percentile (p50, p90) of whole minutes; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil(n × share)
    return ordered[int(rank) - 1]


@dataclass
class Waits:
    """Waits of one kind for one row: exact minutes from the records, bucket counts from rollups."""

    count: int = 0
    seconds: int = 0
    minutes: list[int] = field(default_factory=list)
    buckets: Counter[int] = field(default_factory=Counter)

    def add(self, wait: Wait | None) -> None:
        if wait is not None:
            self.count += 1
            self.seconds += wait.seconds
            self.minutes.append(wait.minutes)

    def add_rollup(self, count: int, seconds: int, buckets: dict[str, int]) -> None:
        self.count += count
        self.seconds += seconds
        self.buckets.update({int(index): n for index, n in buckets.items()})

    def merge(self, other: Waits) -> None:
        self.count += other.count
        self.seconds += other.seconds
        self.minutes += other.minutes
        self.buckets.update(other.buckets)

    def percentile(self, share: float, *, from_buckets: bool) -> int | None:
        if not from_buckets:
            return percentile(self.minutes, share)
        return bucket_percentile(self.buckets + bucketed(self.minutes), share)

    def mean(self) -> float | None:
        return round(self.seconds / self.count / 60, 1) if self.count else None


@dataclass
class ServiceRow:
    """One channel's or team's service, side by side with the others (S21)."""

    label: str
    conversations: int = 0
    first_response: Waits = field(default_factory=Waits)
    resolution: Waits = field(default_factory=Waits)
    sla_met: int = 0
    sla_missed: int = 0
    complaints: int = 0
    surveys_sent: int = 0
    surveys_answered: int = 0
    score_sum: int = 0

    def merge(self, other: ServiceRow) -> None:
        self.conversations += other.conversations
        self.first_response.merge(other.first_response)
        self.resolution.merge(other.resolution)
        self.sla_met += other.sla_met
        self.sla_missed += other.sla_missed
        self.complaints += other.complaints
        self.surveys_sent += other.surveys_sent
        self.surveys_answered += other.surveys_answered
        self.score_sum += other.score_sum

    def as_dict(self, *, from_buckets: bool = False) -> dict[str, Any]:
        judged = self.sla_met + self.sla_missed
        first, resolution = self.first_response, self.resolution
        return {
            "label": self.label,
            "conversations": self.conversations,
            "first_response_p50": first.percentile(0.5, from_buckets=from_buckets),
            "first_response_p90": first.percentile(0.9, from_buckets=from_buckets),
            "resolution_p50": resolution.percentile(0.5, from_buckets=from_buckets),
            "resolution_p90": resolution.percentile(0.9, from_buckets=from_buckets),
            "sla_attainment": round(100 * self.sla_met / judged, 1) if judged else None,
            "complaint_rate": round(100 * self.complaints / self.conversations, 1)
            if self.conversations
            else None,
            "satisfaction": round(self.score_sum / self.surveys_answered, 2)
            if self.surveys_answered
            else None,
            "survey_response_rate": round(100 * self.surveys_answered / self.surveys_sent, 1)
            if self.surveys_sent
            else None,
            "first_response_mean": first.mean(),
            "resolution_mean": resolution.mean(),
        }


def service_rows(
    filters: Filters, plan: Plan
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], bool]:
    """(all, per channel, per team, per week, from buckets?) for the conversations opened in the period."""
    overall = ServiceRow("All")
    by_channel: dict[str, ServiceRow] = {}
    by_team: dict[str, ServiceRow] = {}
    by_week: dict[str, ServiceRow] = {}
    until = micros(filters.until)

    def rows_for(channel: str, team: str, week: str) -> tuple[ServiceRow, ...]:
        return (
            overall,
            by_channel.setdefault(channel, ServiceRow(channel)),
            by_team.setdefault(team, ServiceRow(team)),
            by_week.setdefault(week, ServiceRow(week)),
        )

    from_buckets = False
    if plan.days:
        rolled = ServiceDay.objects.filter(day__in=plan.days)
        if filters.channel:
            rolled = rolled.filter(channel=filters.channel)
        if filters.team is not None:
            rolled = rolled.filter(team=filters.team)
        # Days of the same channel, team and week are added up first, then spread to the four views.
        combined: dict[tuple[str, str, str], ServiceRow] = {}
        for day in rolled.values(*ROLLUP_FIELDS, "team__name"):
            from_buckets = from_buckets or bool(day["first_responses"] or day["resolutions"])
            key = (day["channel"], day["team__name"] or "No team", day["week"])
            row = combined.get(key)
            if row is None:
                row = combined[key] = ServiceRow("")
            row.conversations += day["conversations"]
            row.complaints += day["complaints"]
            row.first_response.add_rollup(
                day["first_responses"], day["first_response_seconds"], day["first_response_buckets"]
            )
            row.resolution.add_rollup(
                day["resolutions"], day["resolution_seconds"], day["resolution_buckets"]
            )
            row.sla_met += day["sla_met"]
            # Sorted when built: the targets due before the period's end are missed.
            row.sla_missed += day["sla_missed"] + bisect_left(day["sla_open_due"], until)
            row.surveys_sent += day["surveys_sent"]
            row.surveys_answered += day["surveys_answered"]
            row.score_sum += day["score_sum"]
        for key, part in combined.items():
            for row in rows_for(*key):
                row.merge(part)
    for measured in conversations_measured(plan.live, channel=filters.channel, team=filters.team):
        missed = measured.sla_missed + sum(1 for due in measured.sla_open_due if due < until)
        for row in rows_for(measured.channel, measured.team_label, measured.week):
            row.conversations += 1
            row.complaints += measured.complaint
            row.first_response.add(measured.first_response)
            row.resolution.add(measured.resolution)
            row.sla_met += measured.sla_met
            row.sla_missed += missed
            if measured.survey_sent:
                row.surveys_sent += 1
                if measured.score is not None:
                    row.surveys_answered += 1
                    row.score_sum += measured.score

    def listed(rows: dict[str, ServiceRow]) -> list[dict[str, Any]]:
        return [r.as_dict(from_buckets=from_buckets) for r in sorted(rows.values(), key=lambda r: r.label)]

    return (
        overall.as_dict(from_buckets=from_buckets),
        listed(by_channel),
        listed(by_team),
        listed(by_week),
        from_buckets,
    )


ROLLUP_FIELDS = (
    "channel",
    "week",
    "conversations",
    "complaints",
    "first_responses",
    "first_response_seconds",
    "first_response_buckets",
    "resolutions",
    "resolution_seconds",
    "resolution_buckets",
    "sla_met",
    "sla_missed",
    "sla_open_due",
    "surveys_sent",
    "surveys_answered",
    "score_sum",
)


def campaign_rates(filters: Filters, plan: Plan) -> list[dict[str, Any]]:
    """Per campaign sent in the period: unsubscribes and spam complaints against messages sent."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    if plan.days:
        rolled = (
            CampaignDay.objects.filter(day__in=plan.days)
            .values("campaign_id")
            .annotate(s=Sum("sent"), u=Sum("unsubscribes"), c=Sum("spam_complaints"))
        )
        for row in rolled:
            total = totals[row["campaign_id"]]
            total[0], total[1], total[2] = total[0] + row["s"], total[1] + row["u"], total[2] + row["c"]
    for (_, campaign), (sent, unsubscribes, complaints) in campaign_counts(plan.live, by_day=False).items():
        total = totals[campaign]
        total[0], total[1], total[2] = total[0] + sent, total[1] + unsubscribes, total[2] + complaints
    # A campaign counts for the period when it sent in it; what came back about it is set against that.
    counts = {campaign: total for campaign, total in totals.items() if total[0]}
    if not counts:
        return []
    names = dict(Campaign.objects.filter(pk__in=counts).values_list("pk", "name"))
    return [
        {
            "campaign": names.get(campaign, str(campaign)),
            "sent": sent,
            "unsubscribes": unsubscribes,
            "unsubscribe_rate": round(100 * unsubscribes / sent, 2),
            "spam_complaints": complaints,
            "spam_complaint_rate": round(100 * complaints / sent, 3),
        }
        for campaign, (sent, unsubscribes, complaints) in sorted(
            counts.items(), key=lambda item: (-item[1][0], names.get(item[0], ""), item[0])
        )
    ]


def contact_pressure(filters: Filters, plan: Plan | None = None, *, threshold: int = 3) -> dict[str, Any]:
    """Messages each customer got in the 7 days before the end of the period, and who sent them.

    A period that ends at a UTC midnight reads the week from its rollup when that day is built;
    one that ends soon after a rollup of the last days (the default: now) starts from the week
    that rollup counted and counts again only the customers whose week changed since; any
    other end is counted from the outbox, per customer in the database.
    """
    until = filters.until.astimezone(UTC)
    pressure: Pressure | None = None
    if until == midnight(until.date()):
        rolled = PressureDay.objects.filter(day=until.date() - timedelta(days=1)).first()
        if rolled is not None:
            pressure = Pressure(
                {int(n): c for n, c in rolled.distribution.items()},
                rolled.by_campaign,
                rolled.by_journey,
                rolled.by_service,
            )
    if pressure is None and plan is not None and plan.standing is not None:
        pressure = pressure_brought_up(plan.standing.pressure, plan.standing.as_of, filters.until)
    if pressure is None:
        pressure = pressure_counts(filters.until - timedelta(days=7), filters.until)
    per_count = pressure.distribution
    buckets = []
    for low, high in PRESSURE_BUCKETS:
        label = f"{low}" if low == high else (f"{low}–{high}" if high else f"{low}+")
        buckets.append(
            {
                "messages": label,
                "customers": sum(c for n, c in per_count.items() if n >= low and (high is None or n <= high)),
            }
        )
    return {
        "threshold": threshold,
        "customers_over_threshold": sum(c for n, c in per_count.items() if n > threshold),
        "customers_contacted": sum(per_count.values()),
        "distribution": buckets,
        "sources": [
            {"source": "campaign", "messages": pressure.by_campaign},
            {"source": "journey", "messages": pressure.by_journey},
            {"source": "service", "messages": pressure.by_service},
        ],
    }


def retention(filters: Filters, plan: Plan | None = None) -> dict[str, Any]:
    """Customers who ordered in the period before and not in this one, by the month they first ordered.

    From a rollup of the last days when the period is the default one it counted (the same
    start, a little later end), brought up to the period's end by the customers whose orders
    changed since (`retention_brought_up`); otherwise counted from every order, in one query.
    """
    standing = plan.standing if plan is not None else None
    if standing is not None and standing.since == filters.since:
        cohorts = retention_brought_up(standing.cohorts, filters.since, standing.as_of, filters.until)
    else:
        cohorts = retention_cohorts(filters.since, filters.until)
    months = [(month, n, again) for month, (n, again) in cohorts.items()]
    rows = [
        {
            "cohort": month,
            "ordered_before": n,
            "ordered_again": again,
            "churned": n - again,
            "retention": round(100 * again / n, 1),
        }
        for month, n, again in sorted(months)
    ]
    before = sum(n for _, n, _ in months)
    retained = sum(again for _, _, again in months)
    return {
        "ordered_before": before,
        "ordered_again": retained,
        "churned": before - retained,
        "retention": round(100 * retained / before, 1) if before else None,
        "cohorts": rows,
    }


def service_dashboard(*, actor: AnyUser, filters: Filters) -> dict[str, Any]:
    access.require(actor, Capability.DASHBOARD_READ)
    outermost = not connection.in_atomic_block
    with transaction.atomic(savepoint=False):
        if outermost and connection.vendor == "postgresql":
            # One snapshot for every read: a rollup rebuilt between two of them (today's, say)
            # would otherwise be counted beside what the plan reads from the records. (SQLite's
            # read transaction is one snapshot already.)
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _service_dashboard(filters)


def _service_dashboard(filters: Filters) -> dict[str, Any]:
    plan = period_plan(filters)
    overall, channels, teams, weeks, from_buckets = service_rows(filters, plan)
    return {
        "period": {"since": filters.since.isoformat(), "until": filters.until.isoformat()},
        "filters": {"channel": filters.channel, "team": filters.team.slug if filters.team else ""},
        # Whole days rolled up are read from the rollups (as of built_at); the rest from the records.
        "sources": {
            "rolled_up_days": len(plan.days),
            "rolled_up_as_of": plan.built_at.isoformat() if plan.built_at else None,
            "from_records": [[start.isoformat(), end.isoformat()] for start, end in plan.live],
            "percentiles": "buckets" if from_buckets else "exact",
        },
        "overall": overall,
        "channels": channels,
        "teams": teams,
        "weeks": weeks,
        "campaigns": campaign_rates(filters, plan),
        "pressure": contact_pressure(filters, plan),
        "retention": retention(filters, plan),
    }


def rows_as_csv(rows: Iterable[dict[str, Any]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    rows = list(rows)
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()
