"""The web UI's customer pages: who may see them (invariant 6) and what they cost (no N+1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone

from regard.customers import services
from regard.customers import urls as customer_urls
from regard.customers.models import Customer
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, make_order, unique

pytestmark = pytest.mark.django_db

# The Customer 360 page costs this many queries, however many orders and events the
# person has: session, user, roles, customer, audit, identifiers, orders, order lines
# with their products, merges, one per level of the merge group, timeline, consent history
# and messages across the merge group (one each; the consent in force is derived from the
# history), the savepoints around the audit write, and the agent's unread notifications in
# the navigation; then the registered panels: open promises (one), entitlements (orders with
# their lines, the policies and their versions, the statutory rule of the customer's country).
CUSTOMER_360_QUERIES = 21


def customer_page_urls(customer_id: int) -> list[str]:
    """Every page of the customers app, so a page added later is checked too."""
    urls = []
    for pattern in customer_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        kwargs = dict.fromkeys(pattern.pattern.converters, customer_id)
        urls.append(reverse(f"customers:{pattern.name}", kwargs=kwargs))
    return urls


@pytest.fixture
def anna() -> Customer:
    return make_customer(preferred_name="Anna", identifiers=[("email", f"anna{unique()}@example.org")])


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_customer_page_sends_anonymous_visitors_to_sign_in(anna: Customer) -> None:
    urls = customer_page_urls(anna.pk)
    assert len(urls) >= 3
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ANALYST])
def test_every_customer_page_refuses_roles_that_may_not_read_customers(
    anna: Customer, make_user: Any, role: Role
) -> None:
    client = signed_in(make_user(role))
    for url in customer_page_urls(anna.pk):
        response = client.get(url, {"q": "anna"})
        assert response.status_code == 403, url
        assert b"Anna" not in response.content


def test_an_agent_sees_every_customer_page(anna: Customer, make_user: Any) -> None:
    client = signed_in(make_user(Role.AGENT))
    for url in customer_page_urls(anna.pk):
        assert client.get(url, {"q": "anna"}).status_code == 200, url


def test_signing_in_leads_to_customer_search(make_user: Any) -> None:
    make_user(Role.AGENT, username="agnes", password="a long enough passphrase")
    client = Client()
    response = client.post(reverse("login"), {"username": "agnes", "password": "a long enough passphrase"})
    assert response.status_code == 302
    assert client.get(response["Location"]).url == reverse("customers:search")
    assert client.get(reverse("customers:search")).status_code == 200


def test_signing_in_leads_a_marketer_to_the_campaigns(make_user: Any) -> None:
    make_user(Role.MARKETER, username="mara", password="a long enough passphrase")
    client = Client()
    response = client.post(reverse("login"), {"username": "mara", "password": "a long enough passphrase"})
    landing = client.get(response["Location"])
    assert landing.url == reverse("outreach:campaigns")
    assert client.get(landing.url).status_code == 200


def test_customer_360_shows_how_to_address_them_identifiers_orders_and_timeline(make_user: Any) -> None:
    weber = make_customer(
        preferred_name="Dr Weber",
        formality="formal",
        salutation="Dr",
        family_name="Weber",
        identifiers=[("phone", "+49 30 44401234")],
    )
    make_order(customer=weber, order_number="SO-360", purchased_at=timezone.now() - timedelta(days=61))
    page = signed_in(make_user(Role.AGENT)).get(reverse("customers:detail", args=[weber.pk]))
    html = page.content.decode()
    assert 'data-testid="greeting">Dear Dr Weber<' in html
    assert "+49 30 44401234" in html  # as she gave it, not the stored key
    assert "SO-360" in html
    assert "order: recorded</span>" in html  # the event kind in words, not "order.recorded"
    assert 'data-testid="order-age">61 days<' in html
    assert html.count('data-testid="timeline-event"') == 2


def test_customer_360_for_an_unknown_customer_is_a_404(make_user: Any) -> None:
    response = signed_in(make_user(Role.AGENT)).get(reverse("customers:detail", args=[987654]))
    assert response.status_code == 404


def busy_customer(*, orders: int) -> Customer:
    customer = make_customer(
        preferred_name="Busy",
        identifiers=[("email", f"busy{unique()}@example.org"), ("chat", f"v-{unique()}")],
    )
    for n in range(orders):
        make_order(customer=customer, lines=3, purchased_at=timezone.now() - timedelta(days=n + 1))
    for n in range(30):
        services.timeline_append(customer=customer, kind="note", summary=f"Note {n}")
    absorbed = make_customer(preferred_name="Busy too")
    services.customer_merge(survivor=customer, absorbed=absorbed, actor=None)
    return customer


def test_customer_360_makes_the_same_number_of_queries_for_five_orders_or_ten(
    make_user: Any, django_assert_num_queries: Any
) -> None:
    client = signed_in(make_user(Role.AGENT))
    few, many = busy_customer(orders=5), busy_customer(orders=10)
    client.get(reverse("customers:search"))  # warm up what every first request loads once

    with django_assert_num_queries(CUSTOMER_360_QUERIES):
        response = client.get(reverse("customers:detail", args=[few.pk]))
    assert response.content.decode().count('data-testid="order-age"') == 5
    with django_assert_num_queries(CUSTOMER_360_QUERIES):
        response = client.get(reverse("customers:detail", args=[many.pk]))
    assert response.content.decode().count('data-testid="order-age"') == 10


def test_the_older_events_button_loads_the_next_timeline_page(make_user: Any) -> None:
    # 25 orders, 30 notes, each profile's "created", and the merge told once: more than one page.
    customer = busy_customer(orders=25)
    client = signed_in(make_user(Role.AGENT))
    first = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert first.count('data-testid="timeline-event"') == 50
    assert "Older events" in first
    cursor = first.split("?cursor=")[1].split('"')[0]
    rest = client.get(reverse("customers:timeline", args=[customer.pk]), {"cursor": cursor}).content.decode()
    assert rest.count('data-testid="timeline-event"') == 25 + 30 + 3 - 50
    assert "Older events" not in rest
