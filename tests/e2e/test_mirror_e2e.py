"""An agent opens the mirror of the customer the company over-contacted (C6, S23, seed 004)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from regard.customers.models import Identifier
from regard.insights.demo_mirror import DEMO_EMAIL, mirror_demo_ensure
from regard.privacy.roles import Role

# serialized_rollback: the live server needs committed data, and the flush after each test
# must not take the role groups (created by a data migration) with it.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_mirror_of_the_over_contacted_customer(
    page: Page,
    live_server: object,
    make_user: Callable[..., User],
    sign_in: Callable[..., None],
    artifacts_dir: Path,
) -> None:
    mirror_demo_ensure()
    customer = Identifier.objects.get(kind="email", value_normalised=DEMO_EMAIL).customer
    agent = make_user(Role.AGENT)
    base = str(live_server)
    sign_in(base, agent.get_username())

    # From Customer 360, the mirror is one click away.
    page.goto(f"{base}/customers/{customer.pk}/")
    page.get_by_test_id("mirror-link").click()
    page.wait_for_url(re.compile(rf"/insights/customers/{customer.pk}/mirror"))

    verdict = page.get_by_test_id("verdict")
    expect(verdict).to_contain_text("Treated worse than they should have been")
    reasons = page.get_by_test_id("verdict-reason")
    expect(reasons.first).to_contain_text("Contacted 23 times in 30 days")
    expect(verdict).to_contain_text("above the 3 a week they chose")
    expect(verdict).to_contain_text("A promise broken on")
    expect(verdict).to_contain_text("working days for a complaint answer")
    expect(page.get_by_test_id("gate")).to_contain_text("held 4× by quiet hours")
    expect(page.get_by_test_id("gate")).to_contain_text("dropped 2×: solar excluded by you")
    chart = page.get_by_test_id("chart")
    expect(chart).to_be_visible()
    assert chart.locator("rect").count() >= 5
    page.screenshot(path=str(artifacts_dir / "mirror-over-contacted.png"), full_page=True)

    # Every reason links to the record it comes from: the promise's own page here.
    promise_link = reasons.filter(has_text="A promise broken").locator("a")
    expect(promise_link).to_have_attribute("data-record", re.compile(r"^policies\.promise:\d+$"))
