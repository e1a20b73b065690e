"""Seed 001 in a browser: the agent opens the complaint, sees the earphones are outside the
40-day guarantee, grants the 10 € credit and sees the promise it makes (C5, S10, S22)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from regard.policies.models import Promise, RemedyGrant
from regard.privacy.roles import Role
from regard.support import services
from tests.policies.helpers import buyer, earphones_policy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_agent_sees_the_entitlement_grants_the_credit_and_sees_the_promise(
    live_server: object,
    page: Page,
    make_user: Callable[..., User],
    sign_in: Callable[..., None],
    artifacts_dir: Path,
) -> None:
    make_user(Role.AGENT, username="agent-sam")
    earphones_policy()
    customer, order = buyer(
        days_ago=63, preferred_name="Mr Dent", formality="formal", salutation="Mr", family_name="Dent"
    )
    conversation = services.conversation_open(
        customer=customer, channel="email", subject="Earphones stopped working", via="email"
    )
    services.message_receive(
        conversation=conversation, body_text=f"No sound on the left. Order {order.order_number}."
    )
    base_url = str(live_server)
    sign_in(base_url, "agent-sam")

    page.goto(f"{base_url}/support/c/{conversation.pk}/")
    entitlement = page.get_by_test_id("entitlement")
    expect(entitlement).to_contain_text("commercial guarantee 40 days — ended")
    expect(entitlement).to_contain_text("a goodwill credit of 10.00 EUR")
    form = page.get_by_test_id("grant-form")
    form.get_by_label("Remedy").select_option("credit")
    form.get_by_label("Amount").fill("10.00")
    form.get_by_role("button", name="Grant").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Promise recorded: Credit of 10.00 EUR")
    page.screenshot(path=str(artifacts_dir / "remedy-granted.png"), full_page=True)
    grant = RemedyGrant.objects.get()
    assert not grant.is_exception
    assert Promise.objects.get(pk=grant.promise_id).state == Promise.State.OPEN
