"""An agent finds a customer and sees, before typing a word, who they are (S7, S10, S20, S23)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from regard.customers import services
from regard.customers.models import Customer, TimelineEvent
from regard.privacy.roles import Role

# serialized_rollback: the live server needs committed data, and the flush after each test
# must not take the role groups (created by a data migration) with it.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

TIMELINE_PAGE_SIZE = 50


def _customer_with_history(*, agent: User) -> Customer:
    now = timezone.now()
    customer = services.customer_create(
        actor=agent,
        preferred_name="Ingrid",
        formality="informal",
        given_name="Ingrid",
        family_name="Solheim",
        language="nb",
        time_zone="Europe/Oslo",
        street="Strandkaien 4",
        postcode="5013",
        locality="Bergen",
        country="NO",
        identifiers=[
            services.IdentifierInput("email", "Ingrid.Solheim@Example.org"),
            services.IdentifierInput("account", "ACC-77812"),
        ],
        now=now - timedelta(days=120),
    )
    services.order_record(
        actor=agent,
        customer=customer,
        order_number="ORD-5001",
        purchased_at=now - timedelta(days=60),
        currency="NOK",
        lines=[
            services.OrderLineInput(
                sku="EAR-40",
                quantity=1,
                unit_price=Decimal("799.00"),
                product_name="Wireless earphones",
                category="earphones",
            )
        ],
    )
    # More than one page of history, so the agent has to reach for older events.
    for day in range(55):
        services.timeline_append(
            customer=customer,
            kind="message.out",
            channel="email",
            summary=f"Newsletter issue {day}",
            occurred_at=now - timedelta(days=100 - day),
        )
    return customer


def test_agent_signs_in_searches_and_sees_the_customer_360(
    live_server: object,
    page: Page,
    make_user: Callable[..., User],
    sign_in: Callable[..., None],
    artifacts_dir: Path,
) -> None:
    agent = make_user(Role.AGENT, username="agent-anna")
    customer = _customer_with_history(agent=agent)
    total_events = TimelineEvent.objects.filter(customer=customer).count()
    assert total_events > TIMELINE_PAGE_SIZE
    base_url = str(live_server)

    sign_in(base_url, "agent-anna")
    page.goto(f"{base_url}/customers/")
    # htmx live search: typing alone brings the results, no submit.
    page.get_by_label("Search customers").press_sequentially("solheim")
    result = page.locator("#results").get_by_role("link", name="Ingrid")
    expect(result).to_be_visible()
    expect(page).to_have_url(re.compile(r"/customers/\?q=solheim"))
    result.click()

    expect(page).to_have_url(f"{base_url}/customers/{customer.pk}/")
    expect(page.get_by_role("heading", name="How to address them")).to_be_visible()
    expect(page.get_by_test_id("greeting")).to_have_text("Hi Ingrid")
    expect(page.get_by_text("Strandkaien 4")).to_be_visible()
    identifiers = page.get_by_test_id("identifier")
    expect(identifiers.filter(has_text="ingrid.solheim@example.org")).to_have_count(1)
    expect(identifiers.filter(has_text="ACC-77812")).to_have_count(1)
    expect(identifiers.filter(has_text="ORD-5001")).to_have_count(1)
    orders = page.get_by_role("region", name="Orders")
    expect(orders.get_by_role("row", name=re.compile("ORD-5001"))).to_contain_text("Wireless earphones")
    expect(page.get_by_test_id("order-age")).to_have_text("60 days")

    events = page.get_by_test_id("timeline-event")
    expect(events).to_have_count(TIMELINE_PAGE_SIZE)
    expect(events.first).to_contain_text("Newsletter issue 54")
    page.get_by_role("button", name="Older events").click()
    expect(events).to_have_count(total_events)
    expect(page.get_by_role("button", name="Older events")).to_have_count(0)
    expect(events.last).to_contain_text("Profile created")

    page.screenshot(path=str(artifacts_dir / "customer-360.png"), full_page=True)


def test_marketer_gets_the_403_page(
    live_server: object,
    page: Page,
    make_user: Callable[..., User],
    sign_in: Callable[..., None],
) -> None:
    make_user(Role.MARKETER, username="marketer-mo")
    customer = services.customer_create(actor=None, preferred_name="Private Person")
    base_url = str(live_server)

    sign_in(base_url, "marketer-mo")
    response = page.goto(f"{base_url}/customers/{customer.pk}/")

    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("403")
    expect(page.get_by_text("Private Person")).to_have_count(0)


def test_anonymous_visitor_is_sent_to_sign_in(live_server: object, page: Page) -> None:
    customer = services.customer_create(actor=None, preferred_name="Private Person")
    base_url = str(live_server)

    page.goto(f"{base_url}/customers/{customer.pk}/")

    expect(page).to_have_url(re.compile(rf"/accounts/login/\?next=/customers/{customer.pk}/"))
    expect(page.get_by_role("heading", name="Sign in to Regard")).to_be_visible()
    expect(page.get_by_text("Private Person")).to_have_count(0)
