"""A policy may count its windows from delivery; the delivery date is recorded on the order (C5, S10)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from regard.customers.models import Order, TimelineEvent
from regard.policies.demo import EARPHONES_WINDOWS, EARPHONES_WORDING
from regard.policies.models import RemedyPolicy, RemedyPolicyVersion
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from tests.policies.helpers import buyer

pytestmark = pytest.mark.django_db


def _policy(api: Any, **extra: Any) -> Any:
    return api.post(
        "policies",
        {
            "name": "Earphones: 40 days from delivery",
            "category": "earphones",
            "windows": EARPHONES_WINDOWS,
            "wording": EARPHONES_WORDING,
            **extra,
        },
    )


def test_a_policy_counted_from_delivery_covers_an_order_delivered_late(api_for: Any) -> None:
    manager, agent = api_for(Role.MANAGER), api_for(Role.AGENT)
    created = _policy(manager, counted_from="delivery")
    assert created.status_code == 201, created.content
    assert created.json()["counted_from"] == "delivery"
    _, order = buyer(days_ago=45)

    before = agent.get(f"orders/{order.pk}/entitlements").json()[0]["entitlement"]
    assert (before["counted_from"], before["is_in_guarantee"]) == ("purchase", False)
    assert "no delivery date on file" in " ".join(before["reasoning"])

    delivered = order.purchased_at + timedelta(days=10)
    answer = agent.post(f"orders/{order.pk}/delivery", {"delivered_at": delivered.isoformat()})
    assert answer.status_code == 200, answer.content
    after = agent.get(f"orders/{order.pk}/entitlements").json()[0]["entitlement"]
    assert (after["counted_from"], after["window_day"], after["is_in_guarantee"]) == ("delivery", 35, True)
    assert TimelineEvent.objects.filter(customer=order.customer, kind="order.delivered").exists()
    assert AuditEntry.objects.filter(object_type="order", object_id=str(order.pk), action="update").exists()


def test_a_revision_keeps_what_the_windows_count_from_unless_told(api_for: Any) -> None:
    manager = api_for(Role.MANAGER)
    policy_id = _policy(manager, counted_from="delivery").json()["id"]
    kept = manager.patch(
        f"policies/{policy_id}", {"windows": EARPHONES_WINDOWS, "wording": EARPHONES_WORDING}
    )
    assert kept.json()["counted_from"] == "delivery"
    changed = manager.patch(
        f"policies/{policy_id}",
        {"windows": EARPHONES_WINDOWS, "wording": EARPHONES_WORDING, "counted_from": "purchase"},
    )
    assert (changed.json()["counted_from"], changed.json()["version"]) == ("purchase", 3)
    assert list(RemedyPolicyVersion.objects.order_by("number").values_list("counted_from", flat=True)) == [
        "delivery",
        "delivery",
        "purchase",
    ]


def test_a_policy_counted_from_anything_else_is_refused_by_name(api_for: Any) -> None:
    answer = _policy(api_for(Role.MANAGER), counted_from="shipment")
    assert answer.status_code == 422
    assert answer.json()["field"] == "counted_from"
    assert not RemedyPolicy.objects.exists()


@pytest.mark.parametrize(
    ("shift", "naive"),
    [(timedelta(days=-1), False), (timedelta(days=400), False), (timedelta(days=2), True)],
)
def test_a_delivery_before_the_purchase_in_the_future_or_without_a_zone_is_refused(
    agent_api: Any, shift: timedelta, naive: bool
) -> None:
    _, order = buyer(days_ago=30)
    when = order.purchased_at + shift
    value = when.replace(tzinfo=None).isoformat() if naive else when.isoformat()
    answer = agent_api.post(f"orders/{order.pk}/delivery", {"delivered_at": value})
    assert answer.status_code == 422, answer.content
    assert answer.json()["field"] == "delivered_at"
    order.refresh_from_db()
    assert order.delivered_at is None


def test_a_delivery_for_no_order_is_404_naming_it(agent_api: Any) -> None:
    answer = agent_api.post("orders/987654/delivery", {"delivered_at": timezone.now().isoformat()})
    assert answer.status_code == 404
    assert answer.json()["field"] == "order_id"


def test_an_order_may_be_recorded_with_its_delivery(agent_api: Any) -> None:
    customer, _ = buyer(days_ago=5)
    purchased = timezone.now() - timedelta(days=5)
    answer = agent_api.post(
        "orders",
        {
            "customer": {"id": customer.pk},
            "order_number": "R-55501",
            "purchased_at": purchased.isoformat(),
            "delivered_at": (purchased + timedelta(days=2)).isoformat(),
            "currency": "EUR",
            "lines": [{"sku": "EAR-100", "quantity": 1, "unit_price": "79.00"}],
        },
    )
    assert answer.status_code == 201, answer.content
    assert Order.objects.get(order_number="R-55501").delivered_at == purchased + timedelta(days=2)
