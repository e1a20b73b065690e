"""The dashboard and the recovery worklist in a browser (C6, S21, S24), with screenshots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from regard.insights.demo_dashboard import dashboard_demo_ensure
from regard.insights.models import RecoveryItem
from regard.insights.services import recovery_scan
from regard.privacy.roles import Role
from regard.support import services as support_services
from regard.support.models import Team
from tests.customers.factories import make_customer, unique

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_manager_reads_the_dashboard_and_an_agent_takes_up_and_closes_a_bad_experience(
    live_server: object,
    page: Page,
    make_user: Callable[..., User],
    sign_in: Callable[..., None],
    artifacts_dir: Path,
) -> None:
    make_user(Role.MANAGER, username="manager-mo")
    make_user(Role.AGENT, username="agent-al")
    Team.objects.create(name="Customer care", slug="care")
    for _ in range(30):
        make_customer(identifiers=[("email", f"h{unique()}@example.org")])
    dashboard_demo_ensure()
    upset = make_customer(preferred_name="Nora", identifiers=[("email", "nora@example.org")])
    support_services.conversation_open(
        customer=upset,
        channel="email",
        subject="Charged twice",
        kind="complaint",
        via="email",
        now=timezone.now() - timedelta(hours=2),
    )
    recovery_scan()
    base_url = str(live_server)

    sign_in(base_url, "manager-mo")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("dashboard-overall")).to_contain_text("First response")
    expect(page.locator("svg.chart").first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()

    sign_in(base_url, "agent-al")
    page.get_by_role("link", name="Recovery").click()
    row = page.get_by_test_id("recovery-row").filter(has_text="Nora")
    expect(row).to_contain_text("Complained")
    row.get_by_role("button", name="Take it up").click()
    row = page.get_by_test_id("recovery-row").filter(has_text="Nora")
    expect(row).to_contain_text("claimed")
    row.get_by_label("Done").select_option("call")
    row.get_by_label("Note").fill("Called, refunded the double charge")
    row.get_by_role("button", name="Close").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Closed: Nora")
    page.screenshot(path=str(artifacts_dir / "recovery-worklist.png"), full_page=True)
    assert RecoveryItem.objects.get(customer=upset).state == "closed"
