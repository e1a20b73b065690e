"""The service dashboard: figures from the records, by channel and team side by side, aggregates only (C6, S21)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regard.insights.selectors.dashboard import dashboard_filters, percentile, service_dashboard
from regard.privacy.roles import Role
from regard.support import services as support_services
from regard.support.models import Conversation, SatisfactionSurvey, Team
from tests.customers.factories import make_customer, make_order, unique
from tests.insights.builders import delivered

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday; the default calendar is Mon–Fri 09:00–17:00


def _conversation(
    *,
    channel: str,
    opened: datetime,
    answered_after: timedelta | None,
    team: Team | None = None,
    kind: str = "question",
) -> Conversation:
    customer = make_customer(identifiers=[("email", f"d{unique()}@example.org")])
    conversation = support_services.conversation_open(
        customer=customer, channel=channel, subject="x", kind=kind, team=team, via="test", now=opened
    )
    fields: dict[str, Any] = {}
    if answered_after is not None:
        fields["first_response_at"] = opened + answered_after
    Conversation.objects.filter(pk=conversation.pk).update(
        **fields, first_response_due_at=opened + timedelta(hours=4)
    )
    return conversation


def test_first_response_is_counted_in_working_time_across_a_weekend() -> None:
    friday_afternoon = datetime(2026, 11, 6, 16, 0, tzinfo=UTC)
    # Answered Monday 10:00: one working hour on Friday, one on Monday; not 66 wall-clock hours.
    _conversation(channel="email", opened=friday_afternoon, answered_after=timedelta(days=2, hours=18))
    filters = dashboard_filters(since=MONDAY, until=MONDAY + timedelta(days=14))
    data = service_dashboard(actor=_analyst(), filters=filters)
    assert data["overall"]["first_response_p50"] == 120
    assert data["overall"]["sla_attainment"] == 0.0  # the due time the record holds (4 h later) was missed
    assert data["overall"]["conversations"] == 1


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    minutes=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=8),
    channel=st.sampled_from(["email", "chat", "phone"]),
)
def test_channel_figures_equal_a_direct_computation(minutes: list[int], channel: str) -> None:
    Conversation.objects.all().delete()
    for index, wait in enumerate(minutes):
        # Inside Monday's working hours, so working minutes equal wall minutes.
        _conversation(
            channel=channel,
            opened=MONDAY + timedelta(minutes=index),
            answered_after=timedelta(minutes=wait % 400),
        )
    data = service_dashboard(
        actor=_analyst(), filters=dashboard_filters(since=MONDAY, until=MONDAY + timedelta(days=1))
    )
    (row,) = data["channels"]
    waits = sorted(wait % 400 for wait in minutes)
    assert row["label"] == channel
    assert row["conversations"] == len(minutes)
    assert row["first_response_p50"] == percentile(waits, 0.5)
    assert row["first_response_p90"] == percentile(waits, 0.9)
    assert row["sla_attainment"] == round(100 * sum(1 for w in waits if w <= 240) / len(waits), 1)


def test_teams_and_channels_side_by_side_with_satisfaction_and_complaints() -> None:
    north = Team.objects.create(name="North", slug="north")
    south = Team.objects.create(name="South", slug="south")
    good = _conversation(channel="chat", opened=MONDAY, answered_after=timedelta(minutes=2), team=north)
    bad = _conversation(
        channel="email", opened=MONDAY, answered_after=timedelta(hours=6), team=south, kind="complaint"
    )
    SatisfactionSurvey.objects.create(
        conversation=good, token=f"a{unique()}", score=5, sent_at=MONDAY, answered_at=MONDAY
    )
    SatisfactionSurvey.objects.create(
        conversation=bad, token=f"b{unique()}", score=1, sent_at=MONDAY, answered_at=MONDAY
    )
    data = service_dashboard(
        actor=_analyst(), filters=dashboard_filters(since=MONDAY, until=MONDAY + timedelta(days=1))
    )
    teams = {row["label"]: row for row in data["teams"]}
    assert (teams["North"]["satisfaction"], teams["South"]["satisfaction"]) == (5, 1)
    assert (teams["North"]["complaint_rate"], teams["South"]["complaint_rate"]) == (0.0, 100.0)
    assert (teams["North"]["sla_attainment"], teams["South"]["sla_attainment"]) == (100.0, 0.0)
    only_south = service_dashboard(
        actor=_analyst(),
        filters=dashboard_filters(since=MONDAY, until=MONDAY + timedelta(days=1), team="south"),
    )
    assert only_south["overall"]["conversations"] == 1


def test_contact_pressure_and_retention_from_the_records() -> None:
    until = datetime(2026, 12, 1, tzinfo=UTC)
    busy = make_customer(identifiers=[("email", "busy@example.org")])
    calm = make_customer(identifiers=[("email", "calm@example.org")])
    for hours in range(5):
        delivered(busy, until - timedelta(hours=hours + 1))
    delivered(calm, until - timedelta(days=1))
    loyal, gone = make_customer(), make_customer()
    for person in (loyal, gone):
        make_order(customer=person, purchased_at=until - timedelta(days=120))
    make_order(customer=loyal, purchased_at=until - timedelta(days=10))
    data = service_dashboard(
        actor=_analyst(), filters=dashboard_filters(since=until - timedelta(days=90), until=until)
    )
    assert data["pressure"]["customers_over_threshold"] == 1
    assert {b["messages"]: b["customers"] for b in data["pressure"]["distribution"]}["4–5"] == 1
    assert data["retention"]["ordered_before"] == 2
    assert data["retention"]["churned"] == 1
    assert data["retention"]["retention"] == 50.0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "2026-11-10T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "until"),
        ({"since": "2024-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
        ({"team": "nowhere"}, "team"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_bad_filters_are_refused_by_name(api_for: Any, query: dict[str, str], field: str) -> None:
    response = api_for(Role.ANALYST).get("dashboard", **query)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_analysts_and_managers_see_it_agents_and_marketers_do_not(
    api_for: Any, anonymous_api: Any, make_user: Any
) -> None:
    _conversation(channel="chat", opened=MONDAY, answered_after=timedelta(minutes=2))
    assert anonymous_api.get("dashboard").status_code == 401
    for role in (Role.AGENT, Role.MARKETER, Role.PARTNER):
        assert api_for(role).get("dashboard").status_code == 403
    body = api_for(Role.ANALYST).get("dashboard", since="2026-11-01T00:00:00Z", until="2026-11-10T00:00:00Z")
    assert body.status_code == 200
    assert "@example.org" not in body.content.decode()  # aggregates only
    web = Client()
    web.force_login(make_user(Role.MANAGER))
    page = web.get("/insights/dashboard/", {"since": "2026-11-01", "until": "2026-11-10"})
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    csv = web.get(
        "/insights/dashboard/",
        {"since": "2026-11-01", "until": "2026-11-10", "format": "csv", "table": "channels"},
    )
    assert csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode().splitlines()[1].startswith("chat,1,")
    assert web.get("/insights/dashboard/", {"format": "csv", "table": "secrets"}).status_code == 422
    web.force_login(make_user(Role.AGENT))
    assert web.get("/insights/dashboard/").status_code == 403


def _analyst() -> Any:
    from regard.privacy.services import user_create

    return user_create(username=f"analyst{unique()}", password=None, roles=[Role.ANALYST])
