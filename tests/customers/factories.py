"""Test data made through the services, the only writers (STYLE.md habit 2)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from regard.customers import services
from regard.customers.models import Customer, Order

_sequence = itertools.count(1)


def unique() -> int:
    """A number no other call in this test session returns, for unique identifiers."""
    return next(_sequence)


def make_customer(*, actor: Any = None, identifiers: list[tuple[str, str]] = (), **profile: Any) -> Customer:
    profile.setdefault("preferred_name", f"Person {unique()}")
    return services.customer_create(
        actor=actor,
        identifiers=[services.IdentifierInput(kind, value) for kind, value in identifiers],
        **profile,
    )


def make_order(
    *,
    customer: Customer,
    actor: Any = None,
    lines: int = 1,
    purchased_at: datetime | None = None,
    order_number: str | None = None,
) -> Order:
    number = order_number or f"ORD-{unique()}"
    return services.order_record(
        actor=actor,
        customer=customer,
        order_number=number,
        purchased_at=purchased_at or timezone.now() - timedelta(days=30),
        currency="EUR",
        lines=[
            services.OrderLineInput(
                sku=f"SKU-{index}",
                quantity=index + 1,
                unit_price=Decimal("19.90"),
                product_name=f"Earphones model {index}",
                category="audio",
            )
            for index in range(lines)
        ],
    )
