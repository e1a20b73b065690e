"""Orders from a CSV, one row per order line: every new order recorded, a known one "already present" (C8)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from regard.customers import normalise, selectors
from regard.customers.importing.load import (
    IDENTIFIER_INSERT_FIELDS,
    SOURCE,
    IdentifierKey,
    audit_rows_insert,
    identifier_owners,
    in_batch,
)
from regard.customers.importing.rows import (
    OrderLineRow,
    RowError,
    order_layout_read,
    order_line_clean,
    value_of,
)
from regard.customers.importing.source import (
    CsvSource,
    ErrorReport,
    ImportReport,
    ProgressCallback,
    check_options,
    default_errors_path,
)
from regard.customers.models import Customer, Identifier, Order, OrderLine, Product
from regard.customers.services import Actor, TimelineEntry, timeline_append_many
from regard.db import bulk
from regard.errors import RegardError

ORDER_INSERT_FIELDS = ("customer_id", "order_number", "purchased_at", "currency", "source", "recorded_at")


@dataclass
class _OrderBatchOutcome:
    imported: int = 0
    present: int = 0
    conflicts: list[RowError] = field(default_factory=list)

    def reject(self, lines: Sequence[OrderLineRow], column: str, message: str, value: str) -> None:
        self.conflicts.extend(RowError(row.line, column, message, value) for row in lines)


def _order_key(number: str) -> IdentifierKey:
    # S20: the order number is also an identifier, so quoting it on any channel finds the person.
    return ("order", normalise.normalise_identifier("order", number, field="order_number"))


def _products_ensure(lines: Sequence[OrderLineRow]) -> dict[str, tuple[int, str]]:
    """sku → (product id, name); products not yet known are created from their first line."""
    wanted: dict[str, OrderLineRow] = {}
    for row in lines:
        wanted.setdefault(row.item.sku.strip(), row)
    products = {
        sku: (pk, name)
        for pk, sku, name in Product.objects.filter(sku__in=wanted).values_list("pk", "sku", "name")
    }
    missing = [sku for sku in wanted if sku not in products]
    names = [(wanted[sku].item.product_name or sku)[:300] for sku in missing]
    ids = bulk.insert(
        Product,
        ("sku", "name", "category"),
        [(sku, name, wanted[sku].item.category[:100]) for sku, name in zip(missing, names, strict=True)],
        ids=True,
    )
    products.update({sku: (pk, name) for sku, pk, name in zip(missing, ids, names, strict=True)})
    return products


def _orders_batch_write(
    orders: Sequence[Sequence[OrderLineRow]], *, actor: Actor, file_name: str, now: datetime
) -> _OrderBatchOutcome:
    outcome = _OrderBatchOutcome()
    heads = [lines[0] for lines in orders]
    customer_ids = selectors.current_customer_ids(
        {int(ref.value) for head in heads for ref in head.refs if ref.kind == "id"}
    )
    owners = identifier_owners(
        {(ref.kind, ref.value) for head in heads for ref in head.refs if ref.kind != "id"}
        | {_order_key(head.order_number) for head in heads}
    )
    recorded = dict(
        Order.objects.filter(order_number__in=[h.order_number for h in heads]).values_list(
            "order_number", "customer_id"
        )
    )
    # Art. 17: an erased profile is a shell; nothing is added to it (its identifiers are gone).
    erased = set(
        Customer.objects.filter(pk__in=set(customer_ids.values()), erased_at__isnull=False).values_list(
            "pk", flat=True
        )
    )
    accepted: list[tuple[int, Sequence[OrderLineRow], bool]] = []  # (customer, lines, add identifier?)
    for lines in orders:
        head = lines[0]
        found: dict[int, str] = {}
        unknown = None
        for ref in head.refs:
            owner = (
                customer_ids.get(int(ref.value)) if ref.kind == "id" else owners.get((ref.kind, ref.value))
            )
            if owner is None:
                unknown = ref
                break
            found.setdefault(owner, f"{ref.column} '{ref.raw}' is customer {owner}")
        if unknown is not None:
            what = f"id {unknown.raw}" if unknown.kind == "id" else f"{unknown.kind} '{unknown.raw}'"
            outcome.reject(lines, unknown.column, f"no customer has {what}.", unknown.raw)
            continue
        if len(found) > 1:
            outcome.reject(
                lines,
                head.refs[1].column,
                "the customer columns disagree: " + "; ".join(found.values()) + ".",
                head.refs[1].raw,
            )
            continue
        [customer_id] = found
        if customer_id in erased:
            outcome.reject(
                lines, head.refs[0].column, f"customer {customer_id} was erased (GDPR Art. 17).", ""
            )
            continue
        number = head.order_number
        if number in recorded:
            if recorded[number] == customer_id:
                outcome.present += len(lines)
            else:
                outcome.reject(
                    lines,
                    "order_number",
                    f"order '{number}' is already recorded for customer {recorded[number]}.",
                    number,
                )
            continue
        key = _order_key(number)
        owner = owners.get(key)
        if owner is not None and owner != customer_id:
            outcome.reject(
                lines, "order_number", f"order number '{number}' already belongs to customer {owner}.", number
            )
            continue
        owners[key] = customer_id
        recorded[number] = customer_id
        accepted.append((customer_id, lines, owner is None))
    if not accepted:
        return outcome

    products = _products_ensure([row for _, lines, _ in accepted for row in lines])
    order_ids = bulk.insert(
        Order,
        ORDER_INSERT_FIELDS,
        [
            (cid, lines[0].order_number, lines[0].purchased_at, lines[0].currency, SOURCE, now)
            for cid, lines, _ in accepted
        ],
        ids=True,
    )
    bulk.insert(
        OrderLine,
        ("order_id", "product_id", "quantity", "unit_price"),
        [
            (order_id, products[row.item.sku.strip()][0], row.item.quantity, row.item.unit_price)
            for order_id, (_, lines, _) in zip(order_ids, accepted, strict=True)
            for row in lines
        ],
    )
    bulk.insert(
        Identifier,
        IDENTIFIER_INSERT_FIELDS,
        [
            (cid, "order", lines[0].order_number, _order_key(lines[0].order_number)[1], SOURCE, now)
            for cid, lines, is_new in accepted
            if is_new
        ],
    )
    timeline_append_many(
        entries=(
            TimelineEntry(
                customer_id=cid,
                kind="order.recorded",
                channel=SOURCE,
                summary=f"Order {lines[0].order_number}: "
                + ", ".join(products[row.item.sku.strip()][1] for row in lines[:3]),
                occurred_at=lines[0].purchased_at,
                subject_model=Order,
                subject_id=order_id,
            )
            for order_id, (cid, lines, _) in zip(order_ids, accepted, strict=True)
        ),
        now=now,
    )
    audit_rows_insert(
        actor=actor,
        object_type="order",
        written=(
            (cid, order_id, lines[0].line)
            for order_id, (cid, lines, _) in zip(order_ids, accepted, strict=True)
        ),
        file_name=file_name,
        now=now,
    )
    outcome.imported = sum(len(lines) for _, lines, _ in accepted)
    return outcome


def _order_disagreements(number: str, lines: Sequence[OrderLineRow]) -> list[RowError]:
    """Lines of one order must agree on the customer, the time and the currency."""
    head = lines[0]
    for row in lines[1:]:
        for column, mine, theirs in (
            ("purchased_at", row.purchased_at, head.purchased_at),
            ("currency", row.currency, head.currency),
            ("customer", [r[1:3] for r in row.refs], [r[1:3] for r in head.refs]),
        ):
            if mine != theirs:
                message = f"order '{number}' is not imported: {column} on line {row.line} differs from line {head.line}."
                return [RowError(other.line, column, message, number) for other in lines]
    return []


def orders_import(
    *,
    path: Path,
    actor: Actor = None,
    errors_path: Path | None = None,
    batch_size: int = 5000,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Record every new order of an orders CSV, one row per order line (columns in docs/import.md)."""
    check_options(batch_size, 1)
    started = time.perf_counter()
    errors_path = errors_path or default_errors_path(path)
    report = ImportReport(kind="orders", errors_path=errors_path)
    clock = now or timezone.now()
    with CsvSource(path) as source:
        layout = order_layout_read(source.header)
        with ErrorReport(errors_path) as errors:
            orders: dict[str, list[OrderLineRow]] = {}
            broken: dict[str, int] = {}  # order number → first invalid line
            for count, (line, values) in enumerate(source.records(), start=1):
                try:
                    row = order_line_clean(values, line=line, layout=layout, now=clock)
                except RegardError as error:
                    column = error.field or ""
                    errors.add([RowError(line, column, error.message, value_of(values, layout, column))])
                    number = value_of(values, layout, "order_number").strip()
                    if number:
                        broken.setdefault(number, line)
                    continue
                orders.setdefault(row.order_number, []).append(row)
                if progress and count % batch_size == 0:
                    progress(source.bytes_read, source.size)

            batch: list[list[OrderLineRow]] = []
            batch_rows = 0

            def write() -> None:
                stamp = now or timezone.now()
                outcome = in_batch(
                    lambda: _orders_batch_write(batch, actor=actor, file_name=path.name, now=stamp)
                )
                report.imported += outcome.imported
                report.present += outcome.present
                errors.add(outcome.conflicts)

            for number, lines in orders.items():
                if number in broken:
                    message = f"order '{number}' is not imported: line {broken[number]} is invalid."
                    errors.add([RowError(row.line, "order_number", message, number) for row in lines])
                    continue
                disagreements = _order_disagreements(number, lines)
                if disagreements:
                    errors.add(disagreements)
                    continue
                batch.append(lines)
                batch_rows += len(lines)
                if batch_rows >= batch_size:
                    write()
                    batch, batch_rows = [], 0
            if batch:
                write()
            report.rejected = len(errors.lines)
    if progress:
        progress(source.size, source.size)
    report.seconds = time.perf_counter() - started
    return report
