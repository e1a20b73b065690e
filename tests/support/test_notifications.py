"""In-app notifications: an SLA warning reaches the agent's navigation and list; only their own (C4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from regard.privacy.roles import Role
from regard.support import services
from regard.support.models import Conversation, Notification, Team
from regard.support.sla import sla_recompute, sla_timer_fire
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db
MONDAY_9 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def warned(agent: Any, lead: Any) -> Conversation:
    team = Team.objects.create(name="Care", slug="care", time_zone="UTC", lead=lead)
    customer = make_customer(identifiers=[("email", "n@example.org")])
    conversation = services.conversation_open(
        customer=customer,
        channel="email",
        kind="complaint",
        subject="Late parcel",
        team=team,
        via="t",
        now=MONDAY_9,
    )
    Conversation.objects.filter(pk=conversation.pk).update(assignee=agent)
    recomputed = sla_recompute(conversation_id=conversation.pk, now=MONDAY_9)
    assert recomputed is not None
    assert recomputed.first_response_due_at is not None
    outcome = sla_timer_fire(
        conversation_id=conversation.pk,
        target="first_response",
        stage="warning",
        due_at=recomputed.first_response_due_at,
        now=recomputed.first_response_due_at,
    )
    assert outcome == "warned"
    return recomputed


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_warning_shows_in_the_navigation_and_the_list(make_user: Any) -> None:
    agent, lead = make_user(Role.AGENT), make_user(Role.AGENT)
    conversation = warned(agent, lead)
    web = signed_in(agent)
    inbox = web.get("/support/")
    assert inbox.status_code == 200
    assert b'data-testid="nav-notifications">Notifications <span class="badge">1</span>' in inbox.content
    page = web.get("/support/notifications/")
    assert page.status_code == 200
    assert f"[#{conversation.token}] first response due".encode() in page.content
    assert f"/support/c/{conversation.pk}/".encode() in page.content


def test_marking_read_clears_the_count_for_that_agent_only(make_user: Any) -> None:
    agent, lead = make_user(Role.AGENT), make_user(Role.AGENT)
    warned(agent, lead)
    mine = Notification.objects.get(user=agent)
    web = signed_in(agent)
    assert web.post("/support/notifications/read", {"id": [str(mine.pk)]}).status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert b'class="badge"' not in web.get("/support/").content
    assert Notification.objects.get(user=lead).read_at is None
    # Someone else's notification cannot be marked read by this agent.
    theirs = Notification.objects.get(user=lead)
    web.post("/support/notifications/read", {"id": [str(theirs.pk)]})
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert signed_in(lead).post("/support/notifications/read").status_code == 302
    theirs.refresh_from_db()
    assert theirs.read_at is not None


def test_each_agent_sees_only_their_own(make_user: Any) -> None:
    agent, lead, other = make_user(Role.AGENT), make_user(Role.AGENT), make_user(Role.AGENT)
    conversation = warned(agent, lead)
    page = signed_in(other).get("/support/notifications/")
    assert page.status_code == 200
    assert conversation.token.encode() not in page.content


def test_roles_and_bad_input(make_user: Any) -> None:
    marketer = signed_in(make_user(Role.MARKETER))
    assert marketer.get("/support/notifications/").status_code == 403
    campaigns = marketer.get("/campaigns/")
    assert campaigns.status_code == 200
    assert b"nav-notifications" not in campaigns.content
    assert Client().get("/support/notifications/").status_code == 302  # to sign in
    agent = signed_in(make_user(Role.AGENT))
    bad = agent.post("/support/notifications/read", {"id": ["x"]})
    assert bad.status_code == 422
    assert agent.get("/support/notifications/read").status_code == 405
