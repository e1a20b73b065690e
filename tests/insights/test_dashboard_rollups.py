"""The dashboard's daily rollups equal the direct computation from the records (issue 12 §4)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from regard.consent import services as consent_services
from regard.errors import InvalidInput
from regard.insights.buckets import EDGES, bucket_of, bucket_percentile, bucket_upper, bucketed
from regard.insights.models import CampaignDay, PressureDay, RollupDay, ServiceDay
from regard.insights.selectors.dashboard import Filters, dashboard_filters, percentile, service_dashboard
from regard.insights.services.rollups import (
    dashboard_rollup_build,
    dashboard_rollup_kick_off,
    dashboard_rollup_refresh,
    dashboard_rollup_task,
)
from regard.outreach.models import Campaign, InboundFeedback, OutboxMessage
from regard.privacy.roles import Role
from regard.support import services as support_services
from regard.support.models import Conversation, SatisfactionSurvey, Team
from tests.customers.factories import make_customer, make_order, unique
from tests.insights.builders import delivered
from tests.insights.dashboard_reference import reference_dashboard

pytestmark = pytest.mark.django_db
# A Friday afternoon; three weeks of history before it, rolled up to Thursday night.
NOW = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
FIRST_DAY = date(2026, 10, 28)
LAST_DAY = date(2026, 11, 19)
WAIT_KEYS = ("first_response_p50", "first_response_p90", "resolution_p50", "resolution_p90")


def _history(seed: int) -> dict[str, Any]:
    """Conversations on every channel for two teams and none, over three weeks and into today."""
    rng = random.Random(seed)
    # Berlin keeps German holidays and a short Friday; the other team works evenings in New York.
    berlin = Team.objects.create(
        name="Berlin",
        slug=f"berlin{unique()}",
        time_zone="Europe/Berlin",
        country="DE",
        business_hours={d: [["08:00", "16:00"]] for d in ("mon", "tue", "wed", "thu")}
        | {"fri": [["08:00", "12:00"]]},
    )
    york = Team.objects.create(
        name="New York",
        slug=f"york{unique()}",
        time_zone="America/New_York",
        business_hours={d: [["12:00", "21:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
    )
    customers = [make_customer(identifiers=[("email", f"r{unique()}@example.org")]) for _ in range(12)]
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC) - timedelta(hours=3)
    for _ in range(70):
        opened = start + timedelta(minutes=rng.randrange(int((NOW - start).total_seconds() // 60)))
        conversation = support_services.conversation_open(
            customer=rng.choice(customers),
            channel=rng.choice(["email", "chat", "phone", "form"]),
            subject="x",
            kind="complaint" if rng.random() < 0.2 else "question",
            team=rng.choice([berlin, york, None]),
            via="test",
            now=opened,
        )
        fields: dict[str, Any] = {}
        if rng.random() < 0.85:
            fields["first_response_at"] = min(NOW, opened + timedelta(minutes=rng.expovariate(1 / 300)))
            if rng.random() < 0.75:
                fields["resolved_at"] = min(
                    NOW, fields["first_response_at"] + timedelta(hours=rng.uniform(0, 80))
                )
        if rng.random() < 0.8:
            # Some targets fall after the end of the shorter periods asked below.
            fields["first_response_due_at"] = opened + timedelta(hours=rng.choice([1, 4, 8, 30]))
            fields["resolution_due_at"] = opened + timedelta(days=rng.choice([1, 3, 12]))
        Conversation.objects.filter(pk=conversation.pk).update(**fields)
        if "resolved_at" in fields and rng.random() < 0.7:
            answered = rng.random() < 0.6
            SatisfactionSurvey.objects.create(
                conversation=conversation,
                token=f"r{unique()}",
                score=rng.randint(1, 5) if answered else None,
                sent_at=fields["resolved_at"] if rng.random() < 0.9 else None,
                answered_at=fields["resolved_at"] + timedelta(hours=1) if answered else None,
            )
    campaigns = [
        Campaign.objects.create(
            name=f"Campaign {name}", purpose="newsletter", subject="News", body="x", created_at=start
        )
        for name in ("A", "B", "C")
    ]
    for index in range(160):
        customer = rng.choice(customers)
        when = start + timedelta(minutes=rng.randrange(int((NOW - start).total_seconds() // 60)))
        row = delivered(customer, when, kind=rng.choice(["marketing", "marketing", "service"]))
        campaign = rng.choice([*campaigns, None])
        OutboxMessage.objects.filter(pk=row.pk).update(
            campaign=campaign,
            journey="cart" if campaign is None and rng.random() < 0.4 else "",
            message_id=f"<m{index}.{unique()}@regard.test>",
        )
        row.refresh_from_db()
        if campaign is not None and rng.random() < 0.15:
            consent_services.consent_withdraw(
                actor=None,
                customer=customer,
                purpose="newsletter",
                channel="email",
                source="unsubscribe_link",
                proof={"message_id": row.message_id},
                now=when + timedelta(hours=rng.uniform(0, 50)),
            )
        if campaign is not None and rng.random() < 0.1:
            InboundFeedback.objects.create(
                kind="complaint",
                status="applied",
                rcpt_to="fbl@regard.test",
                customer=customer,
                outbox_message=row,
                raw="",
                received_at=when + timedelta(hours=rng.uniform(0, 30)),
            )
    for customer in customers[:9]:
        make_order(customer=customer, purchased_at=start - timedelta(days=rng.randrange(1, 60)))
        if rng.random() < 0.5:
            make_order(customer=customer, purchased_at=start + timedelta(days=rng.randrange(1, 20)))
    return {"berlin": berlin, "york": york}


def _filters(**overrides: Any) -> Filters:
    since = overrides.pop("since", datetime(2026, 10, 30, 7, 15, tzinfo=UTC))  # a partial first day
    until = overrides.pop("until", NOW)  # today is read from the records
    return dashboard_filters(since=since, until=until, now=NOW, **overrides)


def _assert_equal(rolled: dict[str, Any], reference: dict[str, Any]) -> None:
    """Counts and rates equal; a percentile is the upper end of the bucket holding the exact one."""
    # Campaigns that sent as many messages come in the reference's database order; ours by name.
    assert rolled["campaigns"] == sorted(reference["campaigns"], key=lambda c: (-c["sent"], c["campaign"]))
    for key in ("pressure", "retention"):
        assert rolled[key] == reference[key], key
    for key in ("overall", "channels", "teams", "weeks"):
        ours = rolled[key] if isinstance(rolled[key], list) else [rolled[key]]
        theirs = reference[key] if isinstance(reference[key], list) else [reference[key]]
        assert [row["label"] for row in ours] == [row["label"] for row in theirs], key
        for mine, exact in zip(ours, theirs, strict=True):
            for field in exact:
                if field in WAIT_KEYS:
                    expected = None if exact[field] is None else bucket_upper(bucket_of(exact[field]))
                    assert mine[field] == expected, (key, mine["label"], field)
                else:
                    assert mine[field] == exact[field], (key, mine["label"], field)


@pytest.mark.parametrize("seed", [3, 8])
def test_rolled_up_dashboard_equals_the_direct_computation(seed: int) -> None:
    teams = _history(seed)
    built = dashboard_rollup_build(first_day=FIRST_DAY, last_day=NOW.date(), now=NOW)
    assert len(built) == (NOW.date() - FIRST_DAY).days + 1
    assert ServiceDay.objects.exists()
    assert CampaignDay.objects.exists()
    assert PressureDay.objects.exists()
    analyst = _analyst()
    periods = [
        _filters(),
        _filters(channel="email"),
        _filters(team=teams["berlin"].slug),
        _filters(team=teams["york"].slug, channel="chat"),
        # Ends at a midnight: the week's contact pressure comes from its rollup too.
        _filters(since=datetime(2026, 11, 2, tzinfo=UTC), until=datetime(2026, 11, 12, tzinfo=UTC)),
        # Ends before many targets fall due: they are not judged yet, as in the records.
        _filters(since=datetime(2026, 10, 28, tzinfo=UTC), until=datetime(2026, 11, 4, 10, 0, tzinfo=UTC)),
    ]
    for filters in periods:
        data = service_dashboard(actor=analyst, filters=filters)
        assert data["sources"]["rolled_up_days"] > 0
        _assert_equal(data, reference_dashboard(filters))
    assert service_dashboard(actor=analyst, filters=periods[0])["sources"]["percentiles"] == "buckets"


def test_without_rollups_the_dashboard_is_the_direct_computation_exactly() -> None:
    _history(5)
    filters = _filters()
    data = service_dashboard(actor=_analyst(), filters=filters)
    assert data["sources"] == {
        "rolled_up_days": 0,
        "rolled_up_as_of": None,
        "from_records": [[filters.since.isoformat(), filters.until.isoformat()]],
        "percentiles": "exact",
    }
    reference = reference_dashboard(filters)
    for key, value in reference.items():
        if key in ("overall", "channels", "teams", "weeks"):
            rows = data[key] if isinstance(data[key], list) else [data[key]]
            expected = value if isinstance(value, list) else [value]
            # The rollup-era figures (means) are extra; every figure of the reference is the same.
            assert [{k: r[k] for k in e} for r, e in zip(rows, expected, strict=True)] == expected
        else:
            assert data[key] == value


def test_a_target_still_open_when_the_day_was_built_is_judged_against_the_period_end() -> None:
    opened = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # Monday
    conversation = support_services.conversation_open(
        customer=make_customer(), channel="email", subject="x", via="test", now=opened
    )
    Conversation.objects.filter(pk=conversation.pk).update(first_response_due_at=opened + timedelta(days=3))
    # Answered at the very moment it fell due: met.
    on_time = support_services.conversation_open(
        customer=make_customer(), channel="email", subject="x", via="test", now=opened
    )
    due = opened + timedelta(hours=4)
    Conversation.objects.filter(pk=on_time.pk).update(first_response_due_at=due, first_response_at=due)
    dashboard_rollup_build(first_day=date(2026, 11, 2), last_day=date(2026, 11, 10), now=NOW)
    analyst = _analyst()
    early = _filters(since=datetime(2026, 11, 2, tzinfo=UTC), until=datetime(2026, 11, 4, tzinfo=UTC))
    late = _filters(since=datetime(2026, 11, 2, tzinfo=UTC), until=datetime(2026, 11, 10, tzinfo=UTC))
    # Early on, the open target is not due yet; by the later end it is missed.
    assert service_dashboard(actor=analyst, filters=early)["overall"]["sla_attainment"] == 100.0
    assert service_dashboard(actor=analyst, filters=late)["overall"]["sla_attainment"] == 50.0
    for filters in (early, late):
        _assert_equal(service_dashboard(actor=analyst, filters=filters), reference_dashboard(filters))


def test_a_late_reply_makes_its_day_stale_and_the_refresh_rebuilds_it() -> None:
    opened = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)  # Monday
    conversation = support_services.conversation_open(
        customer=make_customer(), channel="chat", subject="x", via="test", now=opened
    )
    dashboard_rollup_build(first_day=date(2026, 11, 16), last_day=LAST_DAY, now=NOW - timedelta(hours=1))
    filters = _filters(since=datetime(2026, 11, 16, tzinfo=UTC), until=datetime(2026, 11, 20, tzinfo=UTC))
    analyst = _analyst()
    assert service_dashboard(actor=analyst, filters=filters)["overall"]["first_response_p50"] is None
    # The agent answers on Friday: the service stamps the conversation, the refresh sees it.
    conversation.refresh_from_db()
    support_services.reply_send(
        actor=_agent(),
        conversation=conversation,
        body_text="Hello, here it is.",
        override=True,
        via="web",
        now=NOW,
    )
    rebuilt = dashboard_rollup_refresh(now=NOW + timedelta(minutes=5))
    assert date(2026, 11, 16) in rebuilt
    assert set(rebuilt) <= set(RollupDay.objects.values_list("day", flat=True))
    data = service_dashboard(actor=analyst, filters=filters)
    exact = reference_dashboard(filters)["overall"]["first_response_p50"]
    assert exact is not None
    assert data["overall"]["first_response_p50"] == bucket_upper(bucket_of(exact))


def test_the_refresh_rebuilds_today_recent_days_and_backfills_older_ones_a_few_at_a_time() -> None:
    rebuilt = dashboard_rollup_refresh(now=NOW)
    assert rebuilt[-3:] == [LAST_DAY - timedelta(days=1), LAST_DAY, NOW.date()]
    assert len(rebuilt) == 3 + 14  # today, the two days before and a fortnight of backfill, newest first
    assert RollupDay.objects.get(day=NOW.date()).covered_until == NOW
    assert not PressureDay.objects.filter(day=NOW.date()).exists()  # a week ending now is read live
    again = dashboard_rollup_refresh(now=NOW + timedelta(minutes=5))
    assert set(again) & set(rebuilt) == {NOW.date(), LAST_DAY, LAST_DAY - timedelta(days=1)}
    assert min(again) < min(rebuilt)


def test_today_is_rolled_up_to_the_build_and_what_came_since_is_read_from_the_records() -> None:
    _history(6)
    dashboard_rollup_build(first_day=FIRST_DAY, last_day=NOW.date(), now=NOW)
    later = support_services.conversation_open(
        customer=make_customer(), channel="phone", subject="x", via="test", now=NOW + timedelta(minutes=3)
    )
    Conversation.objects.filter(pk=later.pk).update(first_response_at=NOW + timedelta(minutes=9))
    filters = _filters(until=NOW + timedelta(minutes=10))
    data = service_dashboard(actor=_analyst(), filters=filters)
    assert data["sources"]["from_records"][-1] == [NOW.isoformat(), (NOW + timedelta(minutes=10)).isoformat()]
    _assert_equal(data, reference_dashboard(filters))
    # A period that ends before today's build cannot use today's rollup: today is read from the records.
    earlier = service_dashboard(actor=_analyst(), filters=_filters(until=NOW - timedelta(hours=1)))
    assert earlier["sources"]["from_records"][-1][0] == "2026-11-20T00:00:00+00:00"


def test_a_day_that_has_not_begun_cannot_be_rolled_up_and_the_range_is_checked() -> None:
    with pytest.raises(InvalidInput) as tomorrow:
        dashboard_rollup_build(first_day=LAST_DAY, last_day=NOW.date() + timedelta(days=1), now=NOW)
    assert tomorrow.value.field == "last_day"
    with pytest.raises(InvalidInput) as inverted:
        dashboard_rollup_build(first_day=LAST_DAY, last_day=FIRST_DAY, now=NOW)
    assert inverted.value.field == "last_day"
    with pytest.raises(InvalidInput) as long:
        dashboard_rollup_build(first_day=date(2025, 1, 1), last_day=LAST_DAY, now=NOW)
    assert long.value.field == "first_day"
    assert not RollupDay.objects.exists()


def test_the_task_refreshes_and_schedules_its_next_run() -> None:
    from django_tasks_db.models import DBTaskResult

    dashboard_rollup_kick_off()
    dashboard_rollup_kick_off()  # a running chain is left alone
    ready = DBTaskResult.objects.filter(task_path=dashboard_rollup_task.module_path, status="READY")
    assert ready.count() == 1
    ready.delete()
    assert dashboard_rollup_task.call() >= 2
    assert ready.count() == 1
    assert ready.get().run_after > timezone.now()


def test_buckets_give_the_percentile_of_the_bucket_holding_the_exact_one() -> None:
    assert EDGES[:11] == tuple(range(11))  # the first ten minutes exactly
    rng = random.Random(1)
    for _ in range(200):
        values = [int(rng.expovariate(1 / rng.choice([5, 60, 900]))) for _ in range(rng.randint(1, 40))]
        for share in (0.5, 0.9):
            exact = percentile(values, share)
            assert exact is not None
            from_buckets = bucket_percentile(bucketed(values), share)
            assert from_buckets == bucket_upper(bucket_of(exact))
            assert exact <= from_buckets <= max(exact, exact * 1.1)
    assert bucket_percentile({}, 0.5) is None


def test_the_demo_history_is_rolled_up_and_reads_the_same_as_the_records() -> None:
    from regard.insights.demo_dashboard import dashboard_demo_ensure

    Team.objects.create(name="Customer care", slug="care")
    for _ in range(20):
        make_customer(identifiers=[("email", f"h{unique()}@example.org")])
    lines = dashboard_demo_ensure()
    assert lines[-1].startswith("Dashboard rollups built for 103 days")
    assert dashboard_demo_ensure() == []  # made once
    filters = dashboard_filters(since=None, until=None)
    data = service_dashboard(actor=_analyst(), filters=filters)
    assert data["sources"]["rolled_up_days"] == 91  # the 90 days before and today
    assert data["sources"]["from_records"][0][0] == data["sources"]["rolled_up_as_of"]
    assert data["overall"]["conversations"] > 50
    _assert_equal(data, reference_dashboard(filters))


# The dashboard page and API read rollups in a fixed number of queries, however many days.
API_QUERIES = 15  # the token, its roles, then 13 reads
PAGE_QUERIES = 18


def test_dashboard_queries_do_not_grow_with_the_period(
    api_for: Any, make_user: Any, django_assert_num_queries: Any
) -> None:
    _history(4)
    dashboard_rollup_build(first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW)
    api = api_for(Role.ANALYST)
    web = Client()
    web.force_login(make_user(Role.MANAGER))
    api.get("dashboard")  # the token's first use is stamped once (an UPDATE), not counted below
    # A partial first day and the last day's morning come from the records, the days between from rollups.
    for since in ("2026-11-12T07:00:00Z", "2026-10-28T07:00:00Z"):
        with django_assert_num_queries(API_QUERIES):
            response = api.get("dashboard", since=since, until="2026-11-20T14:30:00Z")
        assert response.json()["sources"]["percentiles"] == "buckets"
        with django_assert_num_queries(PAGE_QUERIES):
            page = web.get("/insights/dashboard/", {"since": since, "until": "2026-11-20T14:30:00Z"})
        text = " ".join(page.content.decode().split())
        assert "days read from the daily rollups (rebuilt from the records at 2026-11-20 14:30 UTC" in text
        assert "Percentiles from buckets" in text


def _analyst() -> Any:
    from regard.privacy.services import user_create

    return user_create(username=f"analyst{unique()}", password=None, roles=[Role.ANALYST])


def _agent() -> Any:
    from regard.privacy.services import user_create

    return user_create(username=f"agent{unique()}", password=None, roles=[Role.AGENT])


def test_the_rollup_command_rebuilds_a_range_and_refuses_bad_input_by_name() -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("rollup", "--first-day", "2026-11-01", "--last-day", "2026-11-03", stdout=out)
    assert out.getvalue().strip() == "rolled up 3 day(s): 2026-11-01 to 2026-11-03"
    assert RollupDay.objects.count() == 3
    with pytest.raises(CommandError, match="last_day"):
        call_command("rollup", "--first-day", "2026-11-03", "--last-day", "2026-11-01")
    with pytest.raises(CommandError, match="go together"):
        call_command("rollup", "--first-day", "2026-11-03")
    call_command("rollup", stdout=out)
    assert "rolled up 17 day(s)" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_dashboard_reads_one_snapshot() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    dashboard_rollup_build(first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW)
    analyst = _analyst()
    with CaptureQueriesContext(connection) as captured:
        data = service_dashboard(actor=analyst, filters=_filters())
    assert data["sources"]["rolled_up_days"] > 0
    snapshot = [q["sql"] for q in captured.captured_queries if "ISOLATION LEVEL" in q["sql"]]
    # PostgreSQL is asked for one snapshot (it refuses the statement after a read in the same
    # transaction, so passing means it came first); SQLite's read transaction is one already.
    assert len(snapshot) == (1 if connection.vendor == "postgresql" else 0)


def test_a_change_stamped_just_before_a_build_is_looked_at_again() -> None:
    monday, tuesday = datetime(2026, 11, 16, 10, 0, tzinfo=UTC), datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
    for opened in (monday, tuesday):
        support_services.conversation_open(
            customer=make_customer(), channel="chat", subject="x", via="test", now=opened
        )
    # Stamped a minute before the build (it may have committed after the build read), and ten minutes before.
    Conversation.objects.filter(created_at=monday).update(updated_at=NOW - timedelta(minutes=1))
    Conversation.objects.filter(created_at=tuesday).update(updated_at=NOW - timedelta(minutes=10))
    dashboard_rollup_build(first_day=date(2026, 11, 16), last_day=LAST_DAY, now=NOW)
    rebuilt = dashboard_rollup_refresh(now=NOW + timedelta(minutes=5))
    assert date(2026, 11, 16) in rebuilt
    assert date(2026, 11, 17) not in rebuilt
