"""The dashboard's daily rollups, rebuilt from the records (C6, issue 12 §4).

A day is rebuilt as a whole — its rows deleted and written again from the conversations,
surveys, outbox rows, consent events and feedback reports of that day — never counted up
as things happen, so a rollup cannot drift from the records. What keeps them fresh:

- every ``REFRESH_EVERY`` a task rebuilds today (up to that moment) and the last
  ``RECENT_DAYS`` days that are over (late replies, survey answers, spam reports land
  there), every day whose conversations changed since it was built (the support services
  stamp ``updated_at`` on every change: a reply, a resolution, a reassignment, a new SLA
  target) or whose survey was sent or answered since, and up to ``BACKFILL_PER_RUN`` older
  days not rolled up yet, newest first;
- what a rollup does not cover — today since its last build, days not built yet, a period's
  partial days — the dashboard reads from the records.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from regard.errors import InvalidInput
from regard.insights.buckets import bucket_of
from regard.insights.models import CampaignDay, PressureDay, RollupDay, ServiceDay
from regard.insights.selectors.dashboard import MAX_PERIOD, default_since
from regard.insights.selectors.dashboard_records import (
    campaign_counts,
    conversations_measured,
    days_between,
    midnight,
    pressure_counts,
    retention_cohorts,
)
from regard.support.models import Conversation, SatisfactionSurvey

REFRESH_EVERY = timedelta(minutes=5)
RECENT_DAYS = 2
BACKFILL_PER_RUN = 14
# Longer than a support service's transaction takes to commit.
IN_FLIGHT = timedelta(minutes=2)
# Far enough back for the longest period the dashboard allows.
KEEP_DAYS = MAX_PERIOD.days + 1


def _service_rows(day: date, covered_until: datetime) -> list[ServiceDay]:
    rows: dict[tuple[str, int | None, str], ServiceDay] = {}
    buckets: dict[tuple[str, int | None, str], tuple[Counter[int], Counter[int]]] = defaultdict(
        lambda: (Counter(), Counter())
    )
    for measured in conversations_measured([(midnight(day), covered_until)]):
        key = (measured.channel, measured.team_id, measured.week)
        row = rows.get(key)
        if row is None:
            row = rows[key] = ServiceDay(
                day=day,
                channel=measured.channel,
                team_id=measured.team_id,
                week=measured.week,
                sla_open_due=[],
            )
        first, resolution = buckets[key]
        row.conversations += 1
        row.complaints += measured.complaint
        if measured.first_response is not None:
            row.first_responses += 1
            row.first_response_seconds += measured.first_response.seconds
            first[bucket_of(measured.first_response.minutes)] += 1
        if measured.resolution is not None:
            row.resolutions += 1
            row.resolution_seconds += measured.resolution.seconds
            resolution[bucket_of(measured.resolution.minutes)] += 1
        row.sla_met += measured.sla_met
        row.sla_missed += measured.sla_missed
        row.sla_open_due.extend(measured.sla_open_due)
        if measured.survey_sent:
            row.surveys_sent += 1
            if measured.score is not None:
                row.surveys_answered += 1
                row.score_sum += measured.score
    for key, row in rows.items():
        first, resolution = buckets[key]
        row.first_response_buckets = {str(i): n for i, n in sorted(first.items())}
        row.resolution_buckets = {str(i): n for i, n in sorted(resolution.items())}
        row.sla_open_due.sort()
    return list(rows.values())


@transaction.atomic
def dashboard_rollup_build(*, first_day: date, last_day: date, now: datetime | None = None) -> list[date]:
    """Rebuild the rollups of the days from ``first_day`` to ``last_day`` (UTC), in one transaction.

    Today is rolled up to ``now``; a day that has not begun cannot be.
    """
    now = now or timezone.now()
    if last_day < first_day:
        raise InvalidInput("last_day: must not be before first_day.", field="last_day")
    if midnight(last_day) > now:
        raise InvalidInput("last_day: a day that has not begun cannot be rolled up.", field="last_day")
    if (last_day - first_day).days >= KEEP_DAYS:
        raise InvalidInput(f"first_day: at most {KEEP_DAYS} days at once.", field="first_day")
    days = list(days_between(first_day, last_day))
    covered = {day: min(now, midnight(day + timedelta(days=1))) for day in days}
    # Lock the days' markers first: two builds of the same days wait for each other.
    list(RollupDay.objects.select_for_update().filter(day__gte=first_day, day__lte=last_day))
    for model in (ServiceDay, CampaignDay, PressureDay, RollupDay):
        model.objects.filter(day__gte=first_day, day__lte=last_day).delete()
    ServiceDay.objects.bulk_create(
        [row for day in days for row in _service_rows(day, covered[day])], batch_size=500
    )
    counts = campaign_counts([(midnight(first_day), covered[last_day])], by_day=True)
    CampaignDay.objects.bulk_create(
        [
            CampaignDay(
                day=day, campaign_id=campaign, sent=sent, unsubscribes=unsubscribed, spam_complaints=spam
            )
            for (day, campaign), (sent, unsubscribed, spam) in counts.items()
            if day is not None
        ],
        batch_size=500,
    )
    pressure_rows = []
    for day in days:
        week_end = midnight(day + timedelta(days=1))
        if covered[day] < week_end:
            continue  # a week that ends now is counted from the outbox when it is read
        pressure = pressure_counts(week_end - timedelta(days=7), week_end)
        pressure_rows.append(
            PressureDay(
                day=day,
                distribution={str(n): c for n, c in sorted(pressure.distribution.items())},
                by_campaign=pressure.by_campaign,
                by_journey=pressure.by_journey,
                by_service=pressure.by_service,
            )
        )
    PressureDay.objects.bulk_create(pressure_rows)
    # The last days also keep the week's contact pressure and the default period's retention up
    # to what they cover: the dashboard's default period (ending now) starts from them.
    recent = now.astimezone(UTC).date() - timedelta(days=RECENT_DAYS)
    RollupDay.objects.bulk_create(
        [
            RollupDay(
                day=day,
                built_at=now,
                covered_until=covered[day],
                standing=_standing(covered[day]) if day >= recent else {},
            )
            for day in days
        ]
    )
    return days


def _standing(as_of: datetime) -> dict[str, Any]:
    pressure = pressure_counts(as_of - timedelta(days=7), as_of)
    since = default_since(as_of)
    return {
        "since": since.isoformat(),
        "pressure": {
            "distribution": {str(n): c for n, c in sorted(pressure.distribution.items())},
            "by_campaign": pressure.by_campaign,
            "by_journey": pressure.by_journey,
            "by_service": pressure.by_service,
        },
        # Orders recorded later, whatever their date, are what the dashboard counts again.
        "cohorts": {
            month: list(pair)
            for month, pair in sorted(retention_cohorts(since, as_of, recorded_before=as_of).items())
        },
    }


def _changed_days(built: dict[date, datetime], since: datetime) -> set[date]:
    """Rolled-up days with a conversation or survey that changed after the day was built.

    A change stamped shortly before a build may have committed after the build read the
    records: changes up to ``IN_FLIGHT`` before a build count as after it.
    """
    if not built:
        return set()
    oldest = min(built.values()) - IN_FLIGHT
    moments: list[tuple[datetime, datetime | None]] = list(
        Conversation.objects.filter(created_at__gte=since, updated_at__gt=oldest)
        .order_by()
        .values_list("created_at", "updated_at")
    )
    for created_at, sent_at, answered_at in (
        SatisfactionSurvey.objects.filter(conversation__created_at__gte=since)
        .filter(Q(sent_at__gt=oldest) | Q(answered_at__gt=oldest))
        .order_by()
        .values_list("conversation__created_at", "sent_at", "answered_at")
    ):
        moments.append((created_at, max(m for m in (sent_at, answered_at) if m is not None)))
    changed = set()
    for created_at, changed_at in moments:
        day = created_at.astimezone(UTC).date()
        if day in built and changed_at is not None and changed_at > built[day] - IN_FLIGHT:
            changed.add(day)
    return changed


def dashboard_rollup_refresh(*, now: datetime | None = None) -> list[date]:
    """What the task does each time: today and recent days, changed days, then some days never built."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    oldest = today - timedelta(days=KEEP_DAYS)
    built = dict(RollupDay.objects.filter(day__gte=oldest).values_list("day", "built_at"))
    wanted = {today - timedelta(days=n) for n in range(RECENT_DAYS + 1)}
    wanted |= _changed_days(built, midnight(oldest))
    never = [day for day in days_between(oldest, today) if day not in built and day not in wanted]
    wanted |= set(sorted(never, reverse=True)[:BACKFILL_PER_RUN])
    done: list[date] = []
    # Each run of consecutive days in a transaction of its own: a long backfill holds no lock for long.
    for first, last in _runs(sorted(wanted)):
        done += dashboard_rollup_build(first_day=first, last_day=last, now=now)
    RollupDay.objects.filter(day__lt=oldest).delete()
    for model in (ServiceDay, CampaignDay, PressureDay):
        model.objects.filter(day__lt=oldest).delete()
    return done


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


@task()
def dashboard_rollup_task() -> int:
    """Refresh the rollups, then come back in ``REFRESH_EVERY`` (one chain at a time)."""
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    # The next run is booked first: a refresh that fails (two builds of a new day at once, say)
    # must not end the chain.
    if not DBTaskResult.objects.filter(task_path=dashboard_rollup_task.module_path, status="READY").exists():
        dashboard_rollup_task.using(run_after=now + REFRESH_EVERY).enqueue()
    return len(dashboard_rollup_refresh(now=now))


def dashboard_rollup_kick_off(*, now: datetime | None = None) -> None:
    """Start the chain of refreshes (`regard serve`); a running chain is left alone."""
    from django_tasks_db.models import DBTaskResult

    if not DBTaskResult.objects.filter(task_path=dashboard_rollup_task.module_path, status="READY").exists():
        dashboard_rollup_task.using(run_after=now or timezone.now()).enqueue()
