"""Journeys (C3): the abandoned-cart reminder that cannot become S19."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from regard.consent import services as consent_services
from regard.customers.models import Customer
from regard.outreach import events, journeys
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import Journey, JourneyEnrollment, OutboxMessage
from regard.outreach.sender import SmtpSender
from tests.outreach.helpers import subscriber

pytestmark = pytest.mark.django_db
State = OutboxMessage.State


def _morning() -> datetime:
    """10:00 UTC tomorrow: far from the quiet hours of a customer in UTC."""
    tomorrow = timezone.now() + timedelta(days=1)
    return tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)


def _cart(customer: Customer, *, at: datetime, cart_id: str = "c-1") -> None:
    events.event_record(
        actor=None,
        customer=customer,
        type="cart_abandoned",
        data={"cart_id": cart_id, "items": [{"sku": "EAR-1", "quantity": 1}]},
        now=at,
    )


def _journey_rows(customer: Customer) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(customer=customer, journey=journeys.ABANDONED_CART).order_by("due_at")
    )


def test_the_preset_abandoned_cart_journey_has_at_most_two_reminders() -> None:
    preset = Journey.objects.get(slug=journeys.ABANDONED_CART)
    assert preset.trigger == "cart_abandoned"
    assert preset.is_active
    assert 1 <= len(preset.steps) <= 2
    assert {"purchase", "complaint"} <= set(preset.exit_on)


def test_cart_abandoned_posted_ten_times_enrolls_once_and_plans_two_reminders(agent_api) -> None:
    customer, _ = subscriber(purpose="offers", time_zone="UTC")  # their mornings: see _morning
    for number in range(10):
        response = agent_api.post(
            "events",
            {
                "type": "cart_abandoned",
                "customer": {"id": customer.pk},
                "data": {"cart_id": f"c-{number % 2}"},
            },
        )
        assert response.status_code == 201
    assert JourneyEnrollment.objects.filter(customer=customer).count() == 1
    rows = _journey_rows(customer)
    assert len(rows) == 2
    assert rows[0].dedupe_key != rows[1].dedupe_key
    assert rows[0].due_at < rows[1].due_at


def test_two_weeks_of_abandoned_carts_bring_two_emails_in_total(smtp_server, sender: SmtpSender) -> None:
    """S19: twice a day for two weeks the cart is reported abandoned; the dispatcher runs throughout."""
    recorder, _ = smtp_server
    customer, address = subscriber(purpose="offers", time_zone="UTC")  # their mornings: see _morning
    start = _morning()
    for half_day in range(28):
        at = start + timedelta(hours=12 * half_day)
        _cart(customer, at=at, cart_id=f"c-{half_day}")
        for hour in range(0, 12, 2):
            dispatch_batch(sender=sender, now=at + timedelta(hours=hour, minutes=1))
    received = recorder.to(address)
    assert len(received) == 2
    assert all(r.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for r in received)
    assert [row.state for row in _journey_rows(customer)] == [State.SENT, State.SENT]


def test_purchase_between_steps_stops_the_rest(smtp_server, sender: SmtpSender) -> None:
    recorder, _ = smtp_server
    customer, address = subscriber(purpose="offers", time_zone="UTC")  # their mornings: see _morning
    start = _morning()
    _cart(customer, at=start)
    dispatch_batch(sender=sender, now=start + timedelta(hours=5))
    assert len(recorder.to(address)) == 1
    events.event_record(actor=None, customer=customer, type="purchase", now=start + timedelta(hours=6))
    dispatch_batch(sender=sender, now=start + timedelta(days=3))
    assert len(recorder.to(address)) == 1
    first, second = _journey_rows(customer)
    assert (first.state, second.state) == (State.SENT, State.DROPPED)
    assert second.gate_reasons[0]["code"] == "left_journey"
    enrollment = JourneyEnrollment.objects.get(customer=customer)
    assert (enrollment.state, enrollment.left_reason) == ("left", "purchase")


def test_complaint_event_before_the_first_step_stops_everything(smtp_server, sender: SmtpSender) -> None:
    recorder, _ = smtp_server
    customer, address = subscriber(purpose="offers", time_zone="UTC")  # their mornings: see _morning
    start = _morning()
    _cart(customer, at=start)
    events.event_record(actor=None, customer=customer, type="complaint", now=start + timedelta(hours=1))
    dispatch_batch(sender=sender, now=start + timedelta(days=3))
    assert recorder.to(address) == []
    assert {row.state for row in _journey_rows(customer)} == {State.DROPPED}


def test_withdrawal_between_steps_stops_the_rest_and_leaves_the_journey(smtp_server, sender) -> None:
    recorder, _ = smtp_server
    customer, address = subscriber(purpose="offers", time_zone="UTC")  # their mornings: see _morning
    start = _morning()
    _cart(customer, at=start)
    dispatch_batch(sender=sender, now=start + timedelta(hours=5))
    consent_services.consent_withdraw(
        actor=None, customer=customer, purpose="offers", channel="email", source="preference_page"
    )
    dispatch_batch(sender=sender, now=start + timedelta(days=3))
    assert len(recorder.to(address)) == 1
    assert _journey_rows(customer)[1].state == State.DROPPED
    assert JourneyEnrollment.objects.get(customer=customer).state == "left"


def test_one_click_unsubscribe_from_the_first_reminder_stops_the_second(smtp_server, sender) -> None:
    """S19 again: the unsubscribe works the first time, and later carts bring nothing."""
    recorder, _ = smtp_server
    customer, address = subscriber(purpose="offers", time_zone="UTC")  # their mornings: see _morning
    start = _morning()
    _cart(customer, at=start)
    dispatch_batch(sender=sender, now=start + timedelta(hours=5))
    https = recorder.to(address)[0].message["List-Unsubscribe"].split(",")[0].strip(" <>")
    response = Client().post(
        https.removeprefix("http://testserver"),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    for day in range(1, 14):
        _cart(customer, at=start + timedelta(days=day))
        dispatch_batch(sender=sender, now=start + timedelta(days=day, hours=5))
    assert len(recorder.to(address)) == 1


def test_a_journey_may_not_have_more_than_two_steps() -> None:
    step = {"wait_hours": 1, "subject": "s", "body": "{{ greeting }}"}
    with pytest.raises(journeys.InvalidInput) as refused:
        journeys.journey_create(
            actor=None, slug="nag", name="Nag", trigger="cart_abandoned", purpose="offers", steps=[step] * 3
        )
    assert refused.value.field == "steps"
