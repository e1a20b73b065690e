from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from regard.customers import services as customer_services
from regard.customers.models import Customer, Order
from regard.policies.demo import EARPHONES_WINDOWS, EARPHONES_WORDING
from regard.policies.models import RemedyPolicy
from regard.policies.services import remedy_policy_create
from tests.customers.factories import make_customer, unique


def earphones_policy() -> RemedyPolicy:
    return remedy_policy_create(
        actor=None,
        name="Earphones: 40-day guarantee",
        category="earphones",
        windows=EARPHONES_WINDOWS,
        wording=EARPHONES_WORDING,
    )


def buyer(*, days_ago: int = 63, country: str = "GB", **profile: Any) -> tuple[Customer, Order]:
    customer = make_customer(
        identifiers=[("email", f"buyer{unique()}@example.org")],
        country=country,
        time_zone=profile.pop("time_zone", "Europe/London"),
        **profile,
    )
    order = order_of(customer, days_ago=days_ago)
    return customer, order


def order_of(
    customer: Customer, *, days_ago: int, sku: str = "EAR-100", name: str = "Aria wireless earphones"
) -> Order:
    # Noon on the customer's own calendar, ``days_ago`` days before today: whatever the hour or DST.
    zone = ZoneInfo(customer.time_zone or "UTC")
    today = timezone.now().astimezone(zone).date()
    purchased: datetime = datetime.combine(today - timedelta(days=days_ago), time(12), zone)
    return customer_services.order_record(
        actor=None,
        customer=customer,
        order_number=f"R-{unique()}",
        purchased_at=purchased,
        currency="EUR",
        lines=[
            customer_services.OrderLineInput(
                sku=sku, quantity=1, unit_price=Decimal("79.00"), product_name=name, category="earphones"
            )
        ],
    )
