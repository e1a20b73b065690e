from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from regard.customers.models import TimelineEvent
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.events import WEB_VISIT
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, unique
from tests.outreach.helpers import enqueue_for, running_campaign, subscriber

pytestmark = pytest.mark.django_db


def test_cart_abandoned_event_lands_on_the_timeline_by_identifier(agent_api) -> None:
    address = f"cart{unique()}@example.org"
    customer = make_customer(identifiers=[("email", address)])
    response = agent_api.post(
        "events",
        {
            "type": "cart_abandoned",
            "customer": {"kind": "email", "value": address.upper()},
            "data": {"cart_id": "c-17", "items": [{"sku": "EAR-1", "quantity": 1}]},
        },
    )
    assert response.status_code == 201, response.content
    event = TimelineEvent.objects.get(customer=customer, kind="cart_abandoned")
    assert event.data["cart_id"] == "c-17"
    assert response.json()["customer_id"] == customer.pk


def test_web_visit_event_starts_the_gates_cool_off(agent_api, sender, smtp_server) -> None:
    recorder, _ = smtp_server
    customer, address = subscriber()
    response = agent_api.post(
        "events",
        {"type": "web.visit", "customer": {"id": customer.pk}, "data": {"path": "/pricing"}},
    )
    assert response.status_code == 201
    assert TimelineEvent.objects.filter(customer=customer, kind=WEB_VISIT).exists()
    row = enqueue_for(running_campaign(), customer)
    dispatch_batch(sender=sender)
    row.refresh_from_db()
    assert row.state == "pending"
    assert [r["code"] for r in row.gate_reasons] == ["web_cool_off"]
    assert recorder.to(address) == []


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"type": "Cart Abandoned"}, "type", 422),
        ({"type": ""}, "type", 422),
        ({"customer": {}}, "customer", 422),
        ({"customer": {"kind": "email", "value": "not an address"}}, "customer.value", 422),
        ({"occurred_at": "2026-01-01T10:00:00"}, "occurred_at", 422),
        ({"occurred_at": "2999-01-01T10:00:00Z"}, "occurred_at", 422),
        ({"data": {"note": "a\x00b"}}, "data", 422),
        ({"data": "cart"}, "data", 422),
        ({"colour": "red"}, "colour", 422),
        ({"customer": {"id": 987654321}}, "customer.id", 404),
    ],
)
def test_bad_event_names_the_field_and_writes_nothing(agent_api, change, field, status) -> None:
    customer = make_customer(identifiers=[("email", f"x{unique()}@example.org")])
    payload = {"type": "purchase", "customer": {"id": customer.pk}} | change
    before = TimelineEvent.objects.count()
    response = agent_api.post("events", payload)
    assert response.status_code == status, response.content
    assert response.json()["field"] == field
    assert TimelineEvent.objects.count() == before


def test_event_keeps_the_time_it_happened(agent_api) -> None:
    customer = make_customer()
    when = (timezone.now() - timedelta(hours=3)).replace(microsecond=0)
    response = agent_api.post(
        "events", {"type": "purchase", "customer": {"id": customer.pk}, "occurred_at": when.isoformat()}
    )
    assert response.status_code == 201
    assert TimelineEvent.objects.get(customer=customer, kind="purchase").occurred_at == when


def test_marketer_cannot_post_events(api_for) -> None:
    customer = make_customer()
    response = api_for(Role.MARKETER).post("events", {"type": "purchase", "customer": {"id": customer.pk}})
    assert response.status_code == 403
