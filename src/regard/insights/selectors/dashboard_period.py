"""The dashboard's period: the filters a URL asks for, and which parts of the period the daily
rollups serve and which are read from the records (C6). `dashboard` computes the figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from regard.customers.models import MergeRecord
from regard.errors import InvalidInput
from regard.insights.models import RollupDay
from regard.insights.selectors.dashboard_records import Cohorts, Pressure, Range, midnight
from regard.support.models import Conversation, Team

MAX_PERIOD = timedelta(days=366)
DEFAULT_PERIOD = timedelta(days=90)
PRESSURE_BUCKETS = ((1, 1), (2, 2), (3, 3), (4, 5), (6, 10), (11, None))
# A rollup's contact pressure and retention serve a period ending this long after it at most
# (the refresh runs every few minutes); older, they are counted from the records.
STANDING_REACH = timedelta(hours=6)


def default_since(until: datetime) -> datetime:
    """The default period: the 90 days before ``until``, from the midnight (UTC) that starts the first."""
    return midnight((until - DEFAULT_PERIOD).astimezone(UTC).date())


@dataclass(frozen=True)
class Filters:
    since: datetime
    until: datetime
    channel: str = ""
    team: Team | None = None


def dashboard_filters(
    *,
    since: datetime | None,
    until: datetime | None,
    channel: str = "",
    team: str = "",
    now: datetime | None = None,
) -> Filters:
    """Bad input is refused by name: an inverted or too long period, an unknown team or channel."""
    now = now or timezone.now()
    until = until or now
    # By default the 90 days before, from the midnight (UTC) that starts the first of them: the
    # page shows whole days, and whole days are read from the rollups.
    since = since or default_since(until)
    if since >= until:
        raise InvalidInput("until: must be after since.", field="until")
    if until - since > MAX_PERIOD:
        raise InvalidInput(f"since: the period is at most {MAX_PERIOD.days} days.", field="since")
    if channel and channel not in Conversation.Channel.values:
        raise InvalidInput(f"channel: one of {', '.join(Conversation.Channel.values)}.", field="channel")
    chosen = None
    if team:
        chosen = Team.objects.filter(slug=team).first()
        if chosen is None:
            raise InvalidInput(f"team: no team '{team[:40]}'.", field="team")
    return Filters(since=since, until=until, channel=channel, team=chosen)


@dataclass(frozen=True)
class Plan:
    """Which parts of a period come from the rollups and which from the records."""

    days: list[date]  # whole UTC days inside the period that are rolled up
    live: list[Range]  # everything else: the period's partial days, today, days not built yet
    built_at: datetime | None  # when the oldest of those days was built
    standing: Standing | None = None  # the latest day's contact pressure and retention, if usable


@dataclass(frozen=True)
class Standing:
    """Contact pressure and retention as a rollup counted them up to ``as_of`` (issue 12 §4)."""

    as_of: datetime
    since: datetime  # the start of the default period ending at ``as_of`` (retention's)
    pressure: Pressure
    cohorts: Cohorts

    @classmethod
    def from_rollup(cls, as_of: datetime, stored: dict[str, Any]) -> Standing:
        pressure = stored["pressure"]
        return cls(
            as_of=as_of,
            since=datetime.fromisoformat(stored["since"]),
            pressure=Pressure(
                {int(n): c for n, c in pressure["distribution"].items()},
                pressure["by_campaign"],
                pressure["by_journey"],
                pressure["by_service"],
            ),
            cohorts={month: (n, again) for month, (n, again) in stored["cohorts"].items()},
        )


def period_plan(filters: Filters) -> Plan:
    """One query: the rolled-up days inside the period; the rest is read from the records.

    A day's rollup serves when the period holds all it covers: from its midnight to the next
    one, or, for today, to when it was built (what came since is read from the records).
    """
    since, until = filters.since.astimezone(UTC), filters.until.astimezone(UTC)
    first = since.date() if since == midnight(since.date()) else since.date() + timedelta(days=1)
    # A merge (or its undo) moves orders and outbox rows between customers: counts a rollup
    # made before one cannot be brought up to date, so they are not used (the latest merge is
    # asked in the same query).
    reach = until - STANDING_REACH
    latest_move = (
        MergeRecord.objects.filter(Q(merged_at__gte=reach) | Q(undone_at__gte=reach))
        .annotate(at=Greatest("merged_at", Coalesce("undone_at", "merged_at")))
        .order_by("-at")
        .values("at")[:1]
    )
    built: dict[date, tuple[datetime, datetime]] = {}
    standing: Standing | None = None
    for day, built_at, covered_until, stored, moved_at in (
        RollupDay.objects.filter(day__gte=first, day__lte=until.date(), covered_until__lte=until)
        .annotate(moved_at=Subquery(latest_move))
        .order_by("day")
        .values_list("day", "built_at", "covered_until", "standing", "moved_at")
    ):
        built[day] = (built_at, covered_until)
        merged = moved_at is not None and moved_at >= covered_until
        usable = bool(stored) and not merged and covered_until >= reach
        standing = Standing.from_rollup(covered_until, stored) if usable else None
    live: list[Range] = []
    cursor = since
    for day in sorted(built):
        if midnight(day) > cursor:
            live.append((cursor, midnight(day)))
        cursor = built[day][1]
    if cursor < until:
        live.append((cursor, until))
    return Plan(sorted(built), live, min(b for b, _ in built.values()) if built else None, standing)
