"""Journeys over time (S19): re-entry only after the cool-down, once per cart, one enrollment after a merge."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regard.customers import services as customer_services
from regard.customers.models import Customer
from regard.outreach import events, journeys
from regard.outreach.models import Journey, JourneyEnrollment, OutboxMessage
from tests.customers.factories import make_customer, unique
from tests.outreach.helpers import subscriber

pytestmark = pytest.mark.django_db
State = OutboxMessage.State
Enrollment = JourneyEnrollment.State


def _start() -> datetime:
    return (timezone.now() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)


def _cart(customer: Customer, *, at: datetime, cart_id: str | None = None) -> None:
    events.event_record(
        actor=None,
        customer=customer,
        type="cart_abandoned",
        data={"cart_id": cart_id or f"c-{unique()}"},
        now=at,
    )


def _sent_all(customer: Customer, *, at: datetime) -> None:
    """Every waiting reminder went out at ``at`` (what the dispatcher records)."""
    OutboxMessage.objects.filter(
        customer=customer, journey=journeys.ABANDONED_CART, state=State.PENDING
    ).update(state=State.SENT, sent_at=at)


def _planned(customer: Customer) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(customer=customer, journey=journeys.ABANDONED_CART)
        .exclude(state=State.DROPPED)
        .order_by("due_at")
    )


def test_a_finished_journey_is_entered_again_only_after_the_cool_down() -> None:
    customer, _ = subscriber(purpose="offers")
    preset = Journey.objects.get(slug=journeys.ABANDONED_CART)
    start = _start()
    _cart(customer, at=start)
    _sent_all(customer, at=start + timedelta(days=2))
    _cart(customer, at=start + timedelta(days=2 + preset.reentry_cooldown_days - 1))
    assert len(_planned(customer)) == 2  # still cooling down: nothing new
    first = JourneyEnrollment.objects.get(customer=customer)
    assert first.state == Enrollment.FINISHED
    _cart(customer, at=start + timedelta(days=2 + preset.reentry_cooldown_days, hours=1))
    assert JourneyEnrollment.objects.filter(customer=customer).count() == 2
    assert len(_planned(customer)) == 4
    newest = journeys.enrollment_for(journey=preset, customer=customer)
    assert newest is not None
    assert newest.state == Enrollment.ACTIVE


def test_leaving_starts_the_cool_down_too() -> None:
    customer, _ = subscriber(purpose="offers")
    Journey.objects.filter(slug=journeys.ABANDONED_CART).update(reentry_cooldown_days=3)
    start = _start()
    _cart(customer, at=start)
    events.event_record(actor=None, customer=customer, type="purchase", now=start + timedelta(hours=1))
    _cart(customer, at=start + timedelta(days=2))
    assert JourneyEnrollment.objects.filter(customer=customer).count() == 1
    _cart(customer, at=start + timedelta(days=3, hours=2))
    assert JourneyEnrollment.objects.filter(customer=customer).count() == 2


def test_one_cart_never_brings_more_than_two_reminders_even_after_the_cool_down() -> None:
    customer, _ = subscriber(purpose="offers")
    Journey.objects.filter(slug=journeys.ABANDONED_CART).update(reentry_cooldown_days=1)
    start = _start()
    _cart(customer, at=start, cart_id="cart-7")
    _sent_all(customer, at=start + timedelta(days=1))
    _cart(customer, at=start + timedelta(days=10), cart_id="cart-7")
    assert len(_planned(customer)) == 2
    _cart(customer, at=start + timedelta(days=10), cart_id="cart-8")
    assert len(_planned(customer)) == 4


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cool_down=st.integers(min_value=1, max_value=20),
    carts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=24 * 60), st.sampled_from(["a", "b", "c", "d"])),
        min_size=1,
        max_size=25,
    ),
    purchases=st.lists(st.integers(min_value=0, max_value=24 * 60), max_size=3),
)
def test_s19_two_reminders_per_cart_and_per_cool_down(
    cool_down: int, carts: list[tuple[int, str]], purchases: list[int]
) -> None:
    """Whatever the carts, purchases and times: at most two reminders per cart, and per customer at
    most two within any stretch as long as the cool-down."""
    with transaction.atomic():
        customer, _ = subscriber(purpose="offers")
        Journey.objects.filter(slug=journeys.ABANDONED_CART).update(reentry_cooldown_days=cool_down)
        start = _start()
        happenings = sorted(
            [(hours, "cart", cart) for hours, cart in carts] + [(h, "purchase", "") for h in purchases]
        )
        for hours, kind, cart in happenings:
            at = start + timedelta(hours=hours)
            # The dispatcher has sent every reminder that was due by now.
            OutboxMessage.objects.filter(
                customer=customer, journey=journeys.ABANDONED_CART, state=State.PENDING, due_at__lte=at
            ).update(state=State.SENT, sent_at=at)
            if kind == "cart":
                _cart(customer, at=at, cart_id=f"{cart}-{customer.pk}")
            else:
                events.event_record(actor=None, customer=customer, type="purchase", now=at)
        planned = _planned(customer)
        per_cart: dict[str, int] = {}
        for enrollment in JourneyEnrollment.objects.filter(customer=customer):
            steps = OutboxMessage.objects.filter(
                dedupe_key__startswith=f"journey:{enrollment.journey_id}:enrollment:{enrollment.pk}:"
            ).exclude(state=State.DROPPED)
            per_cart[enrollment.data["cart_id"]] = per_cart.get(enrollment.data["cart_id"], 0) + steps.count()
        assert all(count <= 2 for count in per_cart.values()), per_cart
        times = [row.sent_at or row.due_at for row in planned]
        window = timedelta(days=cool_down)
        for first in times:
            assert sum(1 for t in times if first <= t < first + window) <= 2
        transaction.set_rollback(True)


def _merge_pair() -> tuple[Customer, Customer]:
    survivor, _ = subscriber(purpose="offers")
    absorbed, _ = subscriber(purpose="offers")
    return survivor, absorbed


def test_merge_keeps_one_active_enrollment_and_undo_restores_the_other(make_user: Any) -> None:
    survivor, absorbed = _merge_pair()
    start = _start()
    _cart(survivor, at=start)
    _cart(absorbed, at=start + timedelta(minutes=5))
    merge = customer_services.customer_merge(survivor=survivor, absorbed=absorbed, actor=None)
    enrollments = JourneyEnrollment.objects.filter(customer=survivor)
    assert enrollments.filter(state=Enrollment.ACTIVE).count() == 1
    ended = enrollments.get(state=Enrollment.LEFT)
    assert ended.left_reason == "merged"
    assert len(_planned(survivor)) == 2  # the absorbed profile's reminders are dropped
    customer_services.merge_undo(merge=merge, actor=None)
    assert JourneyEnrollment.objects.get(customer=absorbed).state == Enrollment.ACTIVE
    assert JourneyEnrollment.objects.get(customer=survivor).state == Enrollment.ACTIVE
    assert len(_planned(absorbed)) == 2
    assert len(_planned(survivor)) == 2


def test_a_trigger_after_the_merge_does_not_add_a_second_enrollment() -> None:
    survivor, absorbed = _merge_pair()
    start = _start()
    _cart(absorbed, at=start)
    customer_services.customer_merge(survivor=survivor, absorbed=absorbed, actor=None)
    _cart(survivor, at=start + timedelta(hours=1))
    assert JourneyEnrollment.objects.filter(customer=survivor, state=Enrollment.ACTIVE).count() == 1
    assert len(_planned(survivor)) == 2


def _state(customer_ids: list[int]) -> list[tuple[Any, ...]]:
    enrollments = JourneyEnrollment.objects.filter(customer_id__in=customer_ids).values_list(
        "pk", "customer_id", "state", "left_reason"
    )
    rows = OutboxMessage.objects.filter(customer_id__in=customer_ids).values_list(
        "pk", "customer_id", "state"
    )
    return sorted(enrollments) + sorted(("row", *r) for r in rows)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    survivor_carts=st.integers(min_value=0, max_value=2),
    absorbed_carts=st.integers(min_value=0, max_value=2),
    survivor_left=st.booleans(),
)
def test_merge_then_undo_round_trips_journeys(
    survivor_carts: int, absorbed_carts: int, survivor_left: bool
) -> None:
    with transaction.atomic():
        survivor = make_customer(identifiers=[("email", f"s{unique()}@example.org")])
        absorbed = make_customer(identifiers=[("email", f"a{unique()}@example.org")])
        start = _start()
        for number in range(survivor_carts):
            _cart(survivor, at=start + timedelta(minutes=number))
        for number in range(absorbed_carts):
            _cart(absorbed, at=start + timedelta(minutes=number))
        if survivor_left:
            events.event_record(
                actor=None, customer=survivor, type="purchase", now=start + timedelta(hours=1)
            )
        before = _state([survivor.pk, absorbed.pk])
        merge = customer_services.customer_merge(
            survivor=survivor, absorbed=absorbed, actor=None, now=start + timedelta(hours=2)
        )
        assert JourneyEnrollment.objects.filter(customer=survivor, state=Enrollment.ACTIVE).count() <= 1
        assert not JourneyEnrollment.objects.filter(customer=absorbed).exists()
        customer_services.merge_undo(merge=merge, actor=None)
        assert _state([survivor.pk, absorbed.pk]) == before
        transaction.set_rollback(True)
