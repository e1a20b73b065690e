"""Orders: validate, record, deliver (C1, C5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from regard.customers import normalise
from regard.customers.models import Customer, Identifier, Order, OrderLine, Product
from regard.customers.services.profiles import (
    Actor,
    IdentifierInput,
    ensure_identifiers_free,
    ensure_not_merged_away,
)
from regard.customers.services.timeline import timeline_append
from regard.errors import Conflict, InvalidInput
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record


@dataclass(frozen=True)
class OrderLineInput:
    sku: str
    quantity: int
    unit_price: Decimal
    product_name: str = ""
    category: str = ""


def _clean_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidInput(f"currency: '{currency}' is not an ISO 4217 code (e.g. EUR).", field="currency")
    return code


# OrderLine.unit_price is DecimalField(max_digits=12, decimal_places=2).
MAX_UNIT_PRICE = Decimal("9999999999.99")


def order_clean(
    *,
    order_number: str,
    purchased_at: datetime,
    currency: str,
    lines: Sequence[OrderLineInput],
    now: datetime,
) -> tuple[str, str]:
    """Validate an order (the API and the CSV import share this); return (order number, currency)."""
    number = (order_number or "").strip()
    if not number or len(number) > 64:
        raise InvalidInput("order_number: must be 1–64 characters.", field="order_number")
    if timezone.is_naive(purchased_at):
        raise InvalidInput("purchased_at: must include a time zone offset.", field="purchased_at")
    if purchased_at > now + timedelta(days=1):
        raise InvalidInput("purchased_at: lies in the future.", field="purchased_at")
    code = _clean_currency(currency)
    if not lines:
        raise InvalidInput("lines: an order needs at least one line.", field="lines")
    for index, line in enumerate(lines):
        if not line.sku.strip() or len(line.sku.strip()) > 64:
            raise InvalidInput(f"lines[{index}].sku: must be 1–64 characters.", field=f"lines[{index}].sku")
        if line.quantity < 1:
            raise InvalidInput(
                f"lines[{index}].quantity: must be at least 1.", field=f"lines[{index}].quantity"
            )
        if line.unit_price < 0:
            raise InvalidInput(
                f"lines[{index}].unit_price: must not be negative.",
                field=f"lines[{index}].unit_price",
            )
        if line.unit_price > MAX_UNIT_PRICE or line.unit_price != line.unit_price.quantize(Decimal("0.01")):
            raise InvalidInput(
                f"lines[{index}].unit_price: at most {MAX_UNIT_PRICE} with two decimal places.",
                field=f"lines[{index}].unit_price",
            )
    return number, code


@transaction.atomic
def order_record(
    *,
    actor: Actor,
    customer: Customer,
    order_number: str,
    purchased_at: datetime,
    currency: str,
    lines: Sequence[OrderLineInput],
    delivered_at: datetime | None = None,
    source: str = "api",
    via: str = "api",
    now: datetime | None = None,
) -> Order:
    now = now or timezone.now()
    ensure_not_merged_away(customer)
    number, code = order_clean(
        order_number=order_number, purchased_at=purchased_at, currency=currency, lines=lines, now=now
    )
    if delivered_at is not None:
        delivery_clean(delivered_at=delivered_at, purchased_at=purchased_at, now=now)
    existing = Order.objects.filter(order_number=number).values_list("customer_id", flat=True).first()
    if existing is not None:
        raise Conflict(
            f"Order '{number}' is already recorded for customer {existing}.",
            field="order_number",
            customer_id=existing,
        )
    order_identifier = normalise.normalise_identifier("order", number, field="order_number")
    ensure_identifiers_free([(IdentifierInput("order", number), order_identifier)], owner=customer)

    order = Order.objects.create(
        customer=customer,
        order_number=number,
        purchased_at=purchased_at,
        delivered_at=delivered_at,
        currency=code,
        source=source,
        recorded_at=now,
    )
    products = _products_for(lines)
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=products[line.sku.strip()],
            quantity=line.quantity,
            unit_price=line.unit_price,
        )
        for line in lines
    )
    # S20: the order number becomes an identifier, so quoting it on any channel finds the person.
    Identifier.objects.get_or_create(
        kind="order",
        value_normalised=order_identifier,
        defaults={
            "customer": customer,
            "value_raw": number,
            "source": source,
            "first_seen_at": now,
        },
    )
    names = ", ".join(products[line.sku.strip()].name for line in lines[:3])
    timeline_append(
        customer=customer,
        kind="order.recorded",
        channel=source,
        summary=f"Order {number}: {names}"[:500],
        occurred_at=purchased_at,
        subject=order,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        object_type="order",
        object_id=order.pk,
        customer_id=customer.pk,
        via=via,
        now=now,
    )
    return order


def delivery_clean(*, delivered_at: datetime, purchased_at: datetime, now: datetime) -> None:
    if timezone.is_naive(delivered_at):
        raise InvalidInput("delivered_at: must include a time zone offset.", field="delivered_at")
    if delivered_at < purchased_at:
        raise InvalidInput("delivered_at: lies before the purchase.", field="delivered_at")
    if delivered_at > now + timedelta(days=1):
        raise InvalidInput("delivered_at: lies in the future.", field="delivered_at")


@transaction.atomic
def order_delivery_record(
    *, actor: Actor, order: Order, delivered_at: datetime, via: str = "api", now: datetime | None = None
) -> Order:
    """The day the goods arrived: a policy counted from delivery starts its windows here (C5)."""
    now = now or timezone.now()
    order = Order.objects.select_for_update().get(pk=order.pk)
    delivery_clean(delivered_at=delivered_at, purchased_at=order.purchased_at, now=now)
    before = order.delivered_at
    order.delivered_at = delivered_at
    order.save(update_fields=["delivered_at"])
    timeline_append(
        customer=order.customer,
        kind="order.delivered",
        channel=order.source,
        summary=f"Order {order.order_number} delivered",
        occurred_at=delivered_at,
        subject=order,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="order",
        object_id=order.pk,
        customer_id=order.customer_id,
        via=via,
        detail={"delivered_at": [before.isoformat() if before else None, delivered_at.isoformat()]},
        now=now,
    )
    return order


def _products_for(lines: Sequence[OrderLineInput]) -> dict[str, Product]:
    skus = {line.sku.strip() for line in lines}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    for line in lines:
        sku = line.sku.strip()
        if sku not in products:
            products[sku] = Product.objects.create(
                sku=sku, name=(line.product_name or sku)[:300], category=line.category[:100]
            )
    return products
