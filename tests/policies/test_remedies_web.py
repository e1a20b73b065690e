"""Entitlements and remedies over the API and on the agent's pages, under the role matrix (S10)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from regard.policies.models import Promise, RemedyGrant, RemedyPolicy
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from regard.support import services as support_services
from regard.support.models import Conversation
from regard.support.panels import _sidebar_panels
from tests.policies.helpers import buyer, earphones_policy, order_of

pytestmark = pytest.mark.django_db


def _conversation(customer: Any, text: str = "The left earbud of my earphones has no sound.") -> Conversation:
    conversation = support_services.conversation_open(
        customer=customer, channel="email", subject="No sound from my earphones", via="email"
    )
    support_services.message_receive(conversation=conversation, body_text=text)
    return conversation


def _web(make_user: Any, *roles: Role) -> Client:
    client = Client()
    client.force_login(make_user(*roles))
    return client


def test_the_entitlement_api_gives_the_reasoning_and_audits_the_read(api_for: Any) -> None:
    earphones_policy()
    customer, order = buyer(days_ago=63)
    response = api_for(Role.AGENT).get(f"customers/{customer.pk}/entitlements")
    assert response.status_code == 200
    (item,) = response.json()
    assert item["order_number"] == order.order_number
    assert item["policy_version"] == 1
    assert item["entitlement"]["days_since_purchase"] == 63
    assert any("commercial guarantee 40 days — ended" in s for s in item["entitlement"]["reasoning"])
    assert {r["kind"] for r in item["entitlement"]["remedies"]} == {"repair", "credit"}
    assert AuditEntry.objects.filter(
        action="read", customer_id=customer.pk, object_type="entitlements"
    ).exists()
    by_order = api_for(Role.AGENT).get(f"orders/{order.pk}/entitlements")
    assert by_order.status_code == 200
    assert by_order.json()[0]["entitlement"] == item["entitlement"]


@pytest.mark.parametrize(
    ("method", "path", "allowed", "refused"),
    [
        (
            "get",
            "customers/{c}/entitlements",
            [Role.AGENT, Role.MANAGER, Role.ADMIN],
            [Role.MARKETER, Role.ANALYST],
        ),
        ("get", "orders/{o}/entitlements", [Role.AGENT, Role.ADMIN], [Role.MARKETER, Role.PARTNER]),
        ("get", "customers/{c}/remedies", [Role.AGENT, Role.MANAGER], [Role.ANALYST, Role.MARKETER]),
        ("post", "customers/{c}/remedies", [Role.AGENT, Role.MANAGER], [Role.ANALYST, Role.MARKETER]),
        ("get", "policies", [Role.AGENT, Role.MANAGER], [Role.MARKETER, Role.ANALYST]),
        ("post", "policies", [Role.MANAGER, Role.ADMIN], [Role.AGENT, Role.MARKETER]),
        ("patch", "policies/{p}", [Role.MANAGER], [Role.AGENT, Role.ANALYST]),
    ],
)
def test_every_route_under_the_role_matrix(
    api_for: Any, anonymous_api: Any, method: str, path: str, allowed: list[Role], refused: list[Role]
) -> None:
    policy = earphones_policy()
    customer, order = buyer(days_ago=10)
    url = path.format(c=customer.pk, o=order.pk, p=policy.pk)
    bodies = {
        "customers/{c}/remedies": {"kind": "replacement", "order_line_id": order.lines.get().pk},
        "policies": {
            "name": "Headphones",
            "category": "headphones",
            "windows": [{"from_day": 0, "to_day": 30, "remedies": [{"kind": "refund"}]}],
            "wording": {"en": "Thirty days."},
        },
        "policies/{p}": {
            "windows": [{"from_day": 0, "to_day": 60, "remedies": [{"kind": "refund"}]}],
            "wording": {"en": "Sixty."},
        },
    }
    body = bodies.get(path)

    def call(client: Any) -> Any:
        return getattr(client, method)(url, body) if method != "get" else client.get(url)

    assert call(anonymous_api).status_code == 401
    for role in refused:
        assert call(api_for(role)).status_code == 403, role
    for role in allowed:
        if path == "policies" and method == "post":
            body = dict(body or {}) | {"category": f"headphones-{role.value}"}
        assert call(api_for(role)).status_code in (200, 201), role


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"kind": "hug"}, 422, "kind"),
        ({"kind": "credit"}, 422, "amount"),
        ({"kind": "credit", "amount": "ten"}, 422, "amount"),
        ({"kind": "credit", "amount": "-3", "currency": "EUR"}, 422, "amount"),
        ({"kind": "credit", "amount": "3", "currency": "euro"}, 422, "currency"),
        ({"kind": "repair", "order_line_id": 999999}, 404, "order_line_id"),
        ({"kind": "refund", "amount": "79"}, 422, "request_text"),
    ],
)
def test_bad_grants_are_refused_by_name_and_write_nothing(
    api_for: Any, body: dict[str, Any], status: int, field: str
) -> None:
    earphones_policy()
    customer, order = buyer(days_ago=63)
    if "order_line_id" not in body:
        body = body | {"order_line_id": order.lines.get().pk}
    response = api_for(Role.AGENT).post(f"customers/{customer.pk}/remedies", body)
    assert response.status_code == status, response.content
    assert response.json()["field"] == field
    assert not RemedyGrant.objects.exists()
    assert not Promise.objects.exists()


def test_a_policy_over_the_api_refuses_overlapping_windows_by_name(api_for: Any) -> None:
    response = api_for(Role.MANAGER).post(
        "policies",
        {
            "name": "Overlap",
            "category": "earphones",
            "windows": [
                {"from_day": 0, "to_day": 40, "remedies": [{"kind": "refund"}]},
                {"from_day": 40, "to_day": 80, "remedies": [{"kind": "repair"}]},
            ],
            "wording": {"en": "x"},
        },
    )
    assert response.status_code == 422
    assert response.json()["field"] == "windows[1]"
    assert not RemedyPolicy.objects.exists()


def test_the_sidebar_shows_the_line_the_conversation_is_about_and_grants_from_it(make_user: Any) -> None:
    earphones_policy()
    customer, _ = buyer(days_ago=63)
    order_of(customer, days_ago=5, sku="CHG-65", name="Fast charger 65 W")
    conversation = _conversation(customer)
    web = _web(make_user, Role.AGENT)
    html = web.get(f"/support/c/{conversation.pk}/").content.decode()
    assert 'data-testid="entitlement"' in html
    assert "Aria wireless earphones" in html.split('data-testid="entitlement"')[1][:400]
    assert "commercial guarantee 40 days — ended" in html
    response = web.post(
        f"/policies/grant/{conversation.pk}",
        {
            "order_line": customer.orders.get(lines__product__sku="EAR-100").lines.get().pk,
            "kind": "credit",
            "amount": "10.00",
            "currency": "EUR",
        },
    )
    assert response.status_code == 302
    grant = RemedyGrant.objects.get()
    assert (grant.conversation, grant.is_exception) == (conversation, False)
    assert Promise.objects.get(pk=grant.promise_id).conversation == conversation
    page = web.get(f"/support/c/{conversation.pk}/").content.decode()
    assert "Promise recorded" in page


def test_the_sidebar_panel_adds_a_fixed_number_of_queries(
    make_user: Any, django_assert_max_num_queries: Any
) -> None:
    earphones_policy()
    customer, _ = buyer(days_ago=63)
    conversation = _conversation(customer)
    web = _web(make_user, Role.AGENT)
    web.get(f"/support/c/{conversation.pk}/")  # warm the session and role caches
    panel = _sidebar_panels.pop("entitlement")
    try:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as without:
            web.get(f"/support/c/{conversation.pk}/")
    finally:
        _sidebar_panels["entitlement"] = panel
    for days in (10, 200, 500):
        order_of(customer, days_ago=days)
    # With the panel and four orders: at most six more queries than the page without it.
    with django_assert_max_num_queries(len(without) + 6):
        web.get(f"/support/c/{conversation.pk}/")


def test_the_policy_screen_previews_a_change_on_real_orders_and_saves_a_version(make_user: Any) -> None:
    policy = earphones_policy()
    buyer(days_ago=63)
    manager = _web(make_user, Role.MANAGER)
    windows = "0-90: replacement, refund\n91-365: repair, credit 10.00 EUR"
    preview = manager.post(
        f"/policies/{policy.pk}/", {"windows": windows, "wording_en": "Ninety days.", "action": "preview"}
    )
    assert preview.status_code == 200
    table = preview.content.decode().split('data-testid="policy-preview"')[1]
    assert "replacement, refund" in table
    assert policy.versions.count() == 1
    saved = manager.post(
        f"/policies/{policy.pk}/", {"windows": windows, "wording_en": "Ninety days.", "action": "save"}
    )
    assert saved.status_code == 302
    assert policy.versions.count() == 2
    bad = manager.post(
        f"/policies/{policy.pk}/", {"windows": "0-90 replacement", "wording_en": "x", "action": "save"}
    )
    assert bad.status_code == 422
    assert policy.versions.count() == 2
    agent = _web(make_user, Role.AGENT)
    assert agent.get(f"/policies/{policy.pk}/").status_code == 200
    assert (
        agent.post(
            f"/policies/{policy.pk}/", {"windows": windows, "wording_en": "x", "action": "save"}
        ).status_code
        == 403
    )
    assert Client().get("/policies/").status_code == 302
    assert _web(make_user, Role.MARKETER).get("/policies/").status_code == 403
