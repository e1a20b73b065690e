"""Per-conversation measures in working and wall time (C4, S9): more than the first response."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client

from regard.errors import NotFound, PermissionDenied
from regard.privacy.roles import Role
from regard.support import services
from regard.support.metrics import conversation_metrics
from regard.support.models import Conversation, Team
from regard.support.sla import sla_recompute
from tests.customers.factories import make_customer

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def agent(make_user: Any) -> User:
    return make_user(Role.AGENT)


@pytest.fixture
def team(db: None) -> Team:
    return Team.objects.create(name="Care", slug="care", time_zone="Europe/Berlin", country="DE")


def reply(agent: User, conversation: Conversation, text: str, when: datetime) -> None:
    services.reply_send(actor=agent, conversation=conversation, body_text=text, override=True, now=when)


def test_first_and_every_next_response_and_resolution_in_working_and_wall_time(
    team: Team, agent: User
) -> None:
    customer = make_customer(
        preferred_name="Fabrizio", formality="informal", identifiers=[("email", "fabrizio@example.com")]
    )
    # Friday 22 May 16:00: the complaint arrives (Monday 25 May is Whit Monday in Germany).
    conversation = services.conversation_open(
        customer=customer, channel="email", kind="complaint", team=team, via="test", now=at(22, 16)
    )
    services.message_receive(conversation=conversation, body_text="My earphones are silent.", now=at(22, 16))
    sla_recompute(conversation_id=conversation.pk, now=at(22, 16))
    # Answered Tuesday 10:00: 1 h on Friday + 1 h on Tuesday of working time, 90 h of wall time.
    reply(agent, conversation, "Hi Fabrizio, when did this start?", at(26, 10))
    # The customer writes twice (one wait), is answered, writes again and is still waiting.
    services.message_receive(conversation=conversation, body_text="Two weeks ago.", now=at(26, 11))
    services.message_receive(conversation=conversation, body_text="Both sides.", now=at(26, 11, 30))
    reply(agent, conversation, "Hi Fabrizio, a replacement is on its way.", at(26, 15))
    services.conversation_set_status(
        actor=agent, conversation=conversation, status="resolved", now=at(26, 15, 5)
    )
    services.message_receive(conversation=conversation, body_text="Thanks! And the case?", now=at(27, 9))
    sla_recompute(conversation_id=conversation.pk, now=at(27, 9))  # what the hook does after commit

    metrics = conversation_metrics(actor=agent, conversation_id=conversation.pk, now=at(27, 10))

    assert metrics.time_zone == "Europe/Berlin"
    assert metrics.first_response.ended_at == at(26, 10)
    assert metrics.first_response.working_minutes == 120
    assert metrics.first_response.wall_seconds == 90 * 3600
    assert metrics.first_response_met is True  # due Tuesday 16:00
    assert [(w.started_at, w.ended_at, w.working_minutes) for w in metrics.next_responses] == [
        (at(26, 11), at(26, 15), 240),
        (at(27, 9), None, 60),  # still waiting at 10:00
    ]
    # The wait still open carries its due time: eight working hours from Wednesday 09:00.
    assert metrics.next_responses[-1].due_at == at(27, 17)
    # Reopened by the customer's message on Wednesday; the resolution clock restarted then.
    assert metrics.reopenings == 1
    assert metrics.resolution.ended_at is None
    assert metrics.resolution.started_at == at(27, 9)
    assert metrics.customer_messages == 4
    assert metrics.agent_messages == 2
    assert metrics.handoffs == 0


def test_a_resolved_conversation_measures_from_opening_to_resolution(team: Team, agent: User) -> None:
    customer = make_customer(identifiers=[("email", "res@example.com")])
    conversation = services.conversation_open(
        customer=customer, channel="phone", team=team, via="test", now=at(22, 16)
    )
    reply(agent, conversation, "Hello,\n\nWe have sent the replacement.", at(22, 16, 30))
    services.conversation_set_status(
        actor=agent, conversation=conversation, status="resolved", now=at(26, 9, 30)
    )
    metrics = conversation_metrics(actor=agent, conversation_id=conversation.pk, now=at(28, 12))
    assert metrics.resolution.ended_at == at(26, 9, 30)
    assert metrics.resolution.working_minutes == 60 + 30  # Friday 16–17, Tuesday 09:00–09:30
    assert metrics.resolution.wall_seconds == int((at(26, 9, 30) - at(22, 16)).total_seconds())
    assert metrics.next_responses == []
    assert metrics.reopenings == 0


def test_an_unanswered_complaint_past_its_due_time_is_not_met(team: Team, agent: User) -> None:
    customer = make_customer(identifiers=[("email", "late@example.com")])
    conversation = services.conversation_open(
        customer=customer, channel="email", kind="complaint", team=team, via="test", now=at(22, 16)
    )
    sla_recompute(conversation_id=conversation.pk, now=at(22, 16))
    assert (
        conversation_metrics(actor=agent, conversation_id=conversation.pk, now=at(26, 15)).first_response_met
        is None
    )
    late = conversation_metrics(
        actor=agent, conversation_id=conversation.pk, now=at(26, 16) + timedelta(minutes=1)
    )
    assert late.first_response_met is False
    assert late.first_response.ended_at is None
    assert late.first_response.working_minutes == 481


def test_metrics_need_the_right_to_read_conversations(team: Team, make_user: Any) -> None:
    customer = make_customer(identifiers=[("email", "role@example.com")])
    conversation = services.conversation_open(customer=customer, channel="email", team=team, via="test")
    with pytest.raises(PermissionDenied):
        conversation_metrics(actor=make_user(Role.MARKETER), conversation_id=conversation.pk)
    with pytest.raises(NotFound):
        conversation_metrics(actor=make_user(Role.AGENT), conversation_id=conversation.pk + 1000)


def test_the_api_gives_the_measures_to_those_who_read_conversations(
    team: Team, agent: User, api_for: Any, anonymous_api: Any
) -> None:
    customer = make_customer(identifiers=[("email", "api-metrics@example.com")])
    conversation = services.conversation_open(
        customer=customer, channel="email", kind="complaint", team=team, via="test", now=at(22, 16)
    )
    sla_recompute(conversation_id=conversation.pk, now=at(22, 16))
    reply(agent, conversation, "Hello,\n\nWe are on it.", at(26, 10))
    response = api_for(Role.AGENT).get(f"conversations/{conversation.pk}/metrics")
    assert response.status_code == 200
    body = response.json()
    assert body["first_response"]["working_minutes"] == 120
    assert body["first_response"]["wall_seconds"] == 90 * 3600
    assert body["first_response_met"] is True
    assert body["time_zone"] == "Europe/Berlin"
    assert body["resolution"]["ended_at"] is None
    assert body["next_responses"] == []
    assert api_for(Role.MARKETER).get(f"conversations/{conversation.pk}/metrics").status_code == 403
    assert anonymous_api.get(f"conversations/{conversation.pk}/metrics").status_code == 401
    missing = api_for(Role.AGENT).get(f"conversations/{conversation.pk + 1000}/metrics")
    assert missing.status_code == 404
    assert missing.json()["field"] == "conversation"
    assert api_for(Role.AGENT).get("conversations/abc/metrics").status_code == 422


def test_the_conversation_page_shows_the_measures(team: Team, agent: User) -> None:
    customer = make_customer(identifiers=[("email", "page-metrics@example.com")])
    conversation = services.conversation_open(
        customer=customer, channel="email", kind="complaint", team=team, via="test", now=at(22, 16)
    )
    reply(agent, conversation, "Hello,\n\nWe are on it.", at(26, 10))
    client = Client()
    client.force_login(agent)
    page = client.get(f"/support/c/{conversation.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="metrics"' in html
    first = html.split('data-testid="metric-first-response"')[1].split("</tr>")[0]
    assert "2 h 00 min" in first  # working time: Friday 16–17 and Tuesday 09–10
    assert "3 d 18 h" in first  # wall time: 90 hours
