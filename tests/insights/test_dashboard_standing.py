"""The dashboard's default period (ending now) from the last rollup, brought up to the moment (issue 12 §4).

A rollup of the last days keeps the week's contact pressure and the default period's
retention up to when it was built; a period ending later starts from them and counts again
only the customers whose figures changed since. Held equal to the direct computation.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from regard.customers.models import Customer, Order
from regard.customers.services import customer_merge
from regard.insights.models import RollupDay
from regard.insights.selectors.dashboard import (
    Standing,
    dashboard_filters,
    default_since,
    period_plan,
    service_dashboard,
)
from regard.insights.selectors.dashboard_records import pressure_counts, retention_cohorts
from regard.insights.services.rollups import dashboard_rollup_build
from regard.outreach.models import Campaign, OutboxMessage
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, make_order, unique
from tests.insights.builders import delivered
from tests.insights.dashboard_reference import reference_dashboard

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
SINCE = default_since(NOW)  # 2026-08-22, midnight
LATER = NOW + timedelta(minutes=40)


def _order(customer: Customer, purchased_at: datetime, recorded_at: datetime | None = None) -> Order:
    order = make_order(customer=customer, purchased_at=purchased_at)
    # Recorded when bought unless said otherwise (the factory records at the wall clock).
    Order.objects.filter(pk=order.pk).update(recorded_at=recorded_at or purchased_at)
    return order


def _history(seed: int) -> list[Customer]:
    """Messages over the last fortnight and orders over the last year, for twenty customers."""
    rng = random.Random(seed)
    customers = [make_customer(identifiers=[("email", f"s{unique()}@example.org")]) for _ in range(20)]
    campaign = Campaign.objects.create(
        name="Campaign S", purpose="newsletter", subject="News", body="x", created_at=NOW - timedelta(days=30)
    )
    for _ in range(120):
        when = NOW - timedelta(minutes=rng.randrange(14 * 24 * 60))
        row = delivered(rng.choice(customers), when, kind=rng.choice(["marketing", "service"]))
        if rng.random() < 0.5:
            OutboxMessage.objects.filter(pk=row.pk).update(campaign=campaign)
        elif rng.random() < 0.3:
            OutboxMessage.objects.filter(pk=row.pk).update(journey="cart")
    for customer in customers:
        for _ in range(rng.randrange(4)):
            _order(customer, NOW - timedelta(minutes=rng.randrange(365 * 24 * 60)))
    return customers


def _before_the_build(customers: list[Customer]) -> None:
    """History that counts differently at LATER than at the build, though nothing changed."""
    b, c = customers[1], customers[2]
    delivered(b, NOW - timedelta(days=7) + timedelta(minutes=10))
    delivered(c, NOW - timedelta(days=7) + timedelta(minutes=20))
    delivered(c, NOW - timedelta(days=6))
    # Bought in the stretch the period before grows by by LATER (it is as long as the period).
    _order(make_customer(), SINCE - (NOW - SINCE) - timedelta(minutes=15))


def _after_the_build(customers: list[Customer]) -> None:
    """What changes the figures between the build (NOW) and the period's end (LATER).

    The outbox stamps a message sent when it is sent, so nothing sent before the build
    appears after it; an order may be recorded long after it was bought."""
    a, d, e = customers[0], customers[3], customers[4]
    # Sent since: a week of more messages for some.
    delivered(a, NOW + timedelta(minutes=5))
    delivered(a, NOW + timedelta(minutes=6), kind="service")
    delivered(make_customer(), NOW + timedelta(minutes=7))  # someone with no message before
    # Bought since the build: ordered again in the period.
    _order(d, NOW - timedelta(days=120), recorded_at=NOW + timedelta(minutes=1))
    _order(d, NOW + timedelta(minutes=15))
    # Recorded since the build, bought long ago: a new first order (and a new cohort).
    _order(e, SINCE - timedelta(days=40), recorded_at=NOW + timedelta(minutes=2))
    _order(e, SINCE - timedelta(days=400), recorded_at=NOW + timedelta(minutes=20))


def _analyst() -> Any:
    from regard.privacy.services import user_create

    return user_create(username=f"analyst{unique()}", password=None, roles=[Role.ANALYST])


def test_the_last_days_keep_pressure_and_retention_equal_to_the_direct_computation() -> None:
    _history(1)
    dashboard_rollup_build(first_day=date(2026, 11, 15), last_day=NOW.date(), now=NOW)
    for rollup in RollupDay.objects.all():
        if rollup.day < NOW.date() - timedelta(days=2):
            assert rollup.standing == {}
            continue
        standing = Standing.from_rollup(rollup.covered_until, rollup.standing)
        as_of = rollup.covered_until
        assert standing.since == default_since(as_of)
        assert standing.pressure == pressure_counts(as_of - timedelta(days=7), as_of)
        assert standing.cohorts == retention_cohorts(standing.since, as_of, recorded_before=as_of)
        assert standing.cohorts  # the generated orders fill some cohorts
    today = RollupDay.objects.get(day=NOW.date())
    assert today.covered_until == NOW
    # Nothing was recorded after the build: what it saw is everything.
    assert Standing.from_rollup(NOW, today.standing).cohorts == retention_cohorts(SINCE, NOW)


@pytest.mark.parametrize("seed", [2, 7])
def test_a_default_period_ending_after_the_build_equals_the_direct_computation(seed: int) -> None:
    customers = _history(seed)
    _before_the_build(customers)
    dashboard_rollup_build(first_day=date(2026, 11, 18), last_day=NOW.date(), now=NOW)
    _after_the_build(customers)
    filters = dashboard_filters(since=None, until=None, now=LATER)
    assert filters.since == SINCE
    plan = period_plan(filters)
    assert plan.standing is not None
    assert plan.standing.as_of == NOW
    data = service_dashboard(actor=_analyst(), filters=filters)
    reference = reference_dashboard(filters)
    assert data["pressure"] == reference["pressure"]
    assert data["retention"] == reference["retention"]
    # The changes above do change the figures: the rollup alone would be wrong.
    at_build = service_dashboard(actor=_analyst(), filters=dashboard_filters(since=None, until=None, now=NOW))
    assert at_build["pressure"] != data["pressure"]
    assert at_build["retention"] != data["retention"]


def test_another_start_or_a_far_end_is_counted_from_the_records() -> None:
    customers = _history(3)
    _before_the_build(customers)
    dashboard_rollup_build(first_day=date(2026, 11, 18), last_day=NOW.date(), now=NOW)
    _after_the_build(customers)
    analyst = _analyst()
    for filters in (
        dashboard_filters(since=SINCE + timedelta(days=3), until=None, now=LATER),
        dashboard_filters(since=None, until=None, now=NOW + timedelta(hours=7)),
    ):
        data = service_dashboard(actor=analyst, filters=filters)
        reference = reference_dashboard(filters)
        assert (data["pressure"], data["retention"]) == (reference["pressure"], reference["retention"])
    assert (
        period_plan(dashboard_filters(since=None, until=None, now=NOW + timedelta(hours=7))).standing is None
    )


def test_a_merge_since_the_build_is_counted_from_the_records() -> None:
    customers = _history(4)
    dashboard_rollup_build(first_day=date(2026, 11, 18), last_day=NOW.date(), now=NOW)
    customer_merge(survivor=customers[0], absorbed=customers[1], actor=None, now=NOW + timedelta(minutes=10))
    filters = dashboard_filters(since=None, until=None, now=LATER)
    assert period_plan(filters).standing is None
    data = service_dashboard(actor=_analyst(), filters=filters)
    reference = reference_dashboard(filters)
    assert (data["pressure"], data["retention"]) == (reference["pressure"], reference["retention"])


# The API's reads with today's rollup: the two figures from it take one query each, where
# counting them from the records takes three (test_dashboard_rollups.API_QUERIES is 15).
API_QUERIES_FROM_TODAY = 14


def test_the_default_period_reads_today_in_a_fixed_number_of_queries(
    api_for: Any, django_assert_num_queries: Any
) -> None:
    customers = _history(5)
    now = timezone.now()
    dashboard_rollup_build(first_day=now.date() - timedelta(days=1), last_day=now.date(), now=now)
    api = api_for(Role.ANALYST)
    api.get("dashboard")  # the token's first use is stamped once (an UPDATE), not counted below
    for index in range(3):
        delivered(customers[index], timezone.now())
        with django_assert_num_queries(API_QUERIES_FROM_TODAY):
            response = api.get("dashboard")
        assert response.status_code == 200
        assert response.json()["sources"]["rolled_up_as_of"] == now.isoformat()


def test_a_merge_the_build_already_saw_does_not_send_the_figures_to_the_records() -> None:
    customers = _history(6)
    customer_merge(survivor=customers[0], absorbed=customers[1], actor=None, now=NOW - timedelta(hours=1))
    dashboard_rollup_build(first_day=date(2026, 11, 18), last_day=NOW.date(), now=NOW)
    _after_the_build(customers)
    filters = dashboard_filters(since=None, until=None, now=LATER)
    assert period_plan(filters).standing is not None
    data = service_dashboard(actor=_analyst(), filters=filters)
    reference = reference_dashboard(filters)
    assert (data["pressure"], data["retention"]) == (reference["pressure"], reference["retention"])
