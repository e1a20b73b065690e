"""`regard import customers|orders FILE.csv`: bulk versions of customer_create and order_record (C1, C8).

Rows are validated by the API's own rules (``import_rows``), written in batches of
one transaction each with their timeline events and audit entries, and bad rows
go to an error report with their line number and field. Re-running a file creates
nothing new: a row whose identifiers already belong to one customer is "already
present". On PostgreSQL the batches are written with COPY.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from regard.customers import normalise, selectors
from regard.customers.import_rows import (
    CustomerRow,
    Layout,
    OrderLineRow,
    RowError,
    customer_layout_read,
    customer_rows_clean,
    order_layout_read,
    order_line_clean,
    value_of,
)
from regard.customers.models import Customer, Identifier, Order, OrderLine, Product, TimelineEvent
from regard.customers.services import PROFILE_FIELDS, Actor
from regard.errors import InvalidInput, NotFound, RegardError
from regard.privacy.models import AuditEntry, Tombstone
from regard.privacy.tombstone import ERASED_MESSAGE, tombstoned_since

SOURCE = "import"
VIA = "cli"
ERROR_COLUMNS = ("line", "field", "message", "value")
CHUNK_ROWS = 1000  # rows per validation task handed to a worker process

ProgressCallback = Callable[[int, int], None]  # (bytes read, bytes in file)
IdentifierKey = tuple[str, str]  # (kind, normalised value)


@dataclass
class ImportReport:
    kind: str
    errors_path: Path
    imported: int = 0
    present: int = 0
    rejected: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.imported + self.present + self.rejected

    @property
    def is_complete(self) -> bool:
        """Every row was imported or was already there."""
        return self.rejected == 0

    def summary(self) -> str:
        text = (
            f"{self.kind}: {self.imported} imported, {self.present} already present, {self.rejected} rejected"
        )
        if self.rejected:
            text += f" (errors in {self.errors_path})"
        return text


def default_errors_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.errors.csv")


class ErrorReport:
    """The error CSV: one row per problem, rewritten on every run (header only when all is well)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: set[int] = set()
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(ERROR_COLUMNS)

    def add(self, errors: Sequence[RowError]) -> None:
        for error in errors:
            self.lines.add(error.line)
            self._writer.writerow(error)

    def __enter__(self) -> ErrorReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


class CsvSource:
    """A UTF-8 CSV file read record by record, knowing each record's first line and the bytes read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._raw = path.open("rb")
        except FileNotFoundError:
            raise NotFound(f"{path}: no such file.", field="file") from None
        except (IsADirectoryError, PermissionError) as error:
            raise InvalidInput(f"{path}: cannot be read ({error.strerror}).", field="file") from None
        self.size = path.stat().st_size
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
        self._reader = csv.reader(self._text)
        try:
            header = self._guarded(lambda: next(self._reader, None))
            if not header:
                raise InvalidInput(f"{path}: is empty; the first line must name the columns.", field="header")
        except RegardError:
            self._text.close()
            raise
        self.header: list[str] = header

    @property
    def bytes_read(self) -> int:
        return self._raw.tell()

    def _guarded(self, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{self.path}: not UTF-8 text (after line {self._reader.line_num}).", field="file"
            ) from None
        except csv.Error as error:
            raise InvalidInput(
                f"{self.path}: line {self._reader.line_num + 1}: {error}.", field="file"
            ) from None

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(first line number, cells) for every non-blank record after the header."""
        reader = self._reader
        iterator = iter(reader)
        while True:
            last = reader.line_num
            values = self._guarded(lambda: next(iterator, None))
            if values is None:
                return
            if values:
                yield last + 1, values

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._text.close()


def _chunks(records: Iterator[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _customer_chunks_validated(
    source: CsvSource, layout: Layout, *, workers: int
) -> Iterator[tuple[list[CustomerRow], list[RowError]]]:
    """Validated chunks in file order; with workers > 1, validation runs in forked processes
    while this one writes, with a bounded number of chunks in flight."""
    chunks = _chunks(source.records(), CHUNK_ROWS)
    if workers <= 1:
        for chunk in chunks:
            yield customer_rows_clean(chunk, layout)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        in_flight: deque[Any] = deque()
        for chunk in chunks:
            in_flight.append(pool.submit(customer_rows_clean, chunk, layout))
            if len(in_flight) >= workers * 4:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


# --- writing -------------------------------------------------------------------------------


def _json_fields(model: type[models.Model]) -> set[str]:
    return {f.attname for f in model._meta.concrete_fields if isinstance(f, models.JSONField)}


def bulk_insert(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple[Any, ...]], *, ids: bool = False
) -> list[int]:
    """Insert rows (values in ``fields`` order); return their primary keys if ``ids``.

    PostgreSQL gets one COPY per call with keys drawn from the table's sequence first;
    other databases get bulk_create.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(fields, row, strict=True))) for row in rows]
        model._default_manager.bulk_create(objects)
        return [obj.pk for obj in objects]
    table = model._meta.db_table
    column_of = {f.attname: str(f.column) for f in model._meta.concrete_fields}
    columns = [column_of[name] for name in fields]
    json_positions = [i for i, name in enumerate(fields) if name in _json_fields(model)]
    keys: list[int] = []
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(rows)],
            )
            keys = [row[0] for row in cursor.fetchall()]
            columns.insert(0, "id")
        quote = connection.ops.quote_name
        sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for index, row in enumerate(rows):
                if json_positions:
                    row = tuple(json.dumps(v) if i in json_positions else v for i, v in enumerate(row))
                copy.write_row((keys[index], *row) if ids else row)
    return keys


def _actor_columns(actor: Actor) -> tuple[int | None, str]:
    if actor is None or not actor.is_authenticated:
        return None, "system"
    return actor.pk, actor.get_username()


def _identifier_owners(keys: set[IdentifierKey]) -> dict[IdentifierKey, int]:
    """Which customer already owns each (kind, normalised value), by indexed lookups."""
    by_kind: dict[str, list[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    owners: dict[IdentifierKey, int] = {}
    if connection.vendor == "postgresql":
        # One array parameter per kind instead of thousands of placeholders.
        sql = (
            f"SELECT value_normalised, customer_id FROM {Identifier._meta.db_table} "  # nosec B608 # SQL names from model metadata, values as parameters
            "WHERE kind = %s AND value_normalised = ANY(%s)"
        )
        with connection.cursor() as cursor:
            for kind, values in by_kind.items():
                cursor.execute(sql, [kind, values])
                owners.update(((kind, value), customer_id) for value, customer_id in cursor.fetchall())
        return owners
    step = min(connection.features.max_query_params or 5000, 5000) - 10
    for kind, values in by_kind.items():
        for start in range(0, len(values), step):
            found = Identifier.objects.filter(kind=kind, value_normalised__in=values[start : start + step])
            for value, customer_id in found.values_list("value_normalised", "customer_id"):
                owners[(kind, value)] = customer_id
    return owners


def _in_batch(batch: Callable[[], Any]) -> Any:
    """One transaction per batch; retried once if a concurrent writer took an identifier meanwhile."""
    try:
        with transaction.atomic():
            return batch()
    except IntegrityError:
        with transaction.atomic():
            return batch()


# --- customers -------------------------------------------------------------------------------

CUSTOMER_INSERT_FIELDS = (*PROFILE_FIELDS, "search_text", "source", "created_at", "updated_at")
IDENTIFIER_INSERT_FIELDS = ("customer_id", "kind", "value_raw", "value_normalised", "source", "first_seen_at")
TIMELINE_INSERT_FIELDS = (
    "customer_id",
    "kind",
    "channel",
    "summary",
    "occurred_at",
    "recorded_at",
    "subject_type",
    "subject_id",
    "data",
)
AUDIT_INSERT_FIELDS = (
    "actor_id",
    "actor_label",
    "action",
    "customer_id",
    "object_type",
    "object_id",
    "via",
    "detail",
    "occurred_at",
)


def _owner_label(owner: int) -> str:
    # Negative owners are customers created earlier in the same batch, named by their line.
    return f"customer {owner}" if owner > 0 else f"the customer on line {-owner}"


@dataclass
class _CustomerBatchOutcome:
    imported: int = 0
    present: int = 0
    conflicts: list[RowError] = field(default_factory=list)


def _customers_batch_write(
    rows: Sequence[CustomerRow], *, actor: Actor, file_name: str, now: datetime
) -> _CustomerBatchOutcome:
    outcome = _CustomerBatchOutcome()
    owners = _identifier_owners({(kind, value) for row in rows for kind, _, value in row.identifiers})
    # Art. 17: a row of an erased person is refused, with a reason that names no one.
    erased: set[str] = set()
    if Tombstone.objects.exists():
        unowned = {value for row in rows for kind, _, value in row.identifiers if (kind, value) not in owners}
        erased = set(tombstoned_since(unowned))
    new_rows: list[CustomerRow] = []
    for row in rows:
        found: dict[int, tuple[str, str]] = {}
        unknown: list[tuple[str, str]] = []
        for kind, _, value in row.identifiers:
            owner = owners.get((kind, value))
            if owner is None:
                unknown.append((kind, value))
            else:
                found.setdefault(owner, (kind, value))
        hit = next((kind for kind, _, value in row.identifiers if value in erased), None)
        if not found and hit is not None:
            outcome.conflicts.append(RowError(row.line, hit, ERASED_MESSAGE, ""))
        elif not found:
            new_rows.append(row)
            for kind, _, value in row.identifiers:
                owners[(kind, value)] = -row.line
        elif len(found) == 1 and not unknown:
            outcome.present += 1
        elif len(found) > 1:
            named = ", ".join(f"{k} '{v}' to {_owner_label(o)}" for o, (k, v) in found.items())
            kind, value = list(found.values())[1]
            outcome.conflicts.append(
                RowError(row.line, kind, f"identifiers belong to different customers: {named}.", value)
            )
        else:
            [(owner, (known_kind, known_value))] = found.items()
            kind, value = unknown[0]
            outcome.conflicts.append(
                RowError(
                    row.line,
                    kind,
                    f"{known_kind} '{known_value}' belongs to {_owner_label(owner)} but {kind} '{value}' "
                    "does not; the import creates customers and never changes existing ones.",
                    value,
                )
            )
    if not new_rows:
        return outcome

    customer_ids = bulk_insert(
        Customer,
        CUSTOMER_INSERT_FIELDS,
        [(*row.profile, row.search_text, SOURCE, now, now) for row in new_rows],
        ids=True,
    )
    bulk_insert(
        Identifier,
        IDENTIFIER_INSERT_FIELDS,
        [
            (customer_id, kind, raw, value, SOURCE, now)
            for customer_id, row in zip(customer_ids, new_rows, strict=True)
            for kind, raw, value in row.identifiers
        ],
    )
    bulk_insert(
        TimelineEvent,
        TIMELINE_INSERT_FIELDS,
        [
            (
                customer_id,
                "customer.created",
                SOURCE,
                f"Profile created from {SOURCE}",
                now,
                now,
                "customers.customer",
                str(customer_id),
                {"identifiers": [kind for kind, _, _ in row.identifiers]},
            )
            for customer_id, row in zip(customer_ids, new_rows, strict=True)
        ],
    )
    actor_id, actor_label = _actor_columns(actor)
    bulk_insert(
        AuditEntry,
        AUDIT_INSERT_FIELDS,
        [
            (
                actor_id,
                actor_label,
                AuditEntry.Action.IMPORT.value,
                customer_id,
                "customer",
                str(customer_id),
                VIA,
                {"file": file_name, "line": row.line},
                now,
            )
            for customer_id, row in zip(customer_ids, new_rows, strict=True)
        ],
    )
    outcome.imported = len(new_rows)
    return outcome


def _check_options(batch_size: int, workers: int) -> None:
    if batch_size < 1:
        raise InvalidInput("batch-size: must be at least 1.", field="batch_size")
    if workers < 1:
        raise InvalidInput("workers: must be at least 1.", field="workers")


def customers_import(
    *,
    path: Path,
    actor: Actor = None,
    errors_path: Path | None = None,
    batch_size: int = 5000,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Create a customer for every new row of a customers CSV (columns in docs/import.md)."""
    _check_options(batch_size, workers)
    started = time.perf_counter()
    errors_path = errors_path or default_errors_path(path)
    report = ImportReport(kind="customers", errors_path=errors_path)
    with CsvSource(path) as source:
        layout = customer_layout_read(source.header)
        with ErrorReport(errors_path) as errors:
            pending: list[CustomerRow] = []

            def write(rows: list[CustomerRow]) -> None:
                stamp = now or timezone.now()
                outcome = _in_batch(
                    lambda: _customers_batch_write(rows, actor=actor, file_name=path.name, now=stamp)
                )
                report.imported += outcome.imported
                report.present += outcome.present
                errors.add(outcome.conflicts)

            for good, bad in _customer_chunks_validated(source, layout, workers=workers):
                errors.add(bad)
                pending.extend(good)
                while len(pending) >= batch_size:
                    write(pending[:batch_size])
                    pending = pending[batch_size:]
                    if progress:
                        progress(source.bytes_read, source.size)
            while pending:
                write(pending[:batch_size])
                pending = pending[batch_size:]
            report.rejected = len(errors.lines)
    if progress:
        progress(source.size, source.size)
    report.seconds = time.perf_counter() - started
    return report


# --- orders ----------------------------------------------------------------------------------

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
    ids = bulk_insert(
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
    owners = _identifier_owners(
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
    order_ids = bulk_insert(
        Order,
        ORDER_INSERT_FIELDS,
        [
            (cid, lines[0].order_number, lines[0].purchased_at, lines[0].currency, SOURCE, now)
            for cid, lines, _ in accepted
        ],
        ids=True,
    )
    bulk_insert(
        OrderLine,
        ("order_id", "product_id", "quantity", "unit_price"),
        [
            (order_id, products[row.item.sku.strip()][0], row.item.quantity, row.item.unit_price)
            for order_id, (_, lines, _) in zip(order_ids, accepted, strict=True)
            for row in lines
        ],
    )
    bulk_insert(
        Identifier,
        IDENTIFIER_INSERT_FIELDS,
        [
            (cid, "order", lines[0].order_number, _order_key(lines[0].order_number)[1], SOURCE, now)
            for cid, lines, is_new in accepted
            if is_new
        ],
    )
    bulk_insert(
        TimelineEvent,
        TIMELINE_INSERT_FIELDS,
        [
            (
                cid,
                "order.recorded",
                SOURCE,
                f"Order {lines[0].order_number}: "
                + ", ".join(products[row.item.sku.strip()][1] for row in lines[:3]),
                lines[0].purchased_at,
                now,
                "customers.order",
                str(order_id),
                {},
            )
            for order_id, (cid, lines, _) in zip(order_ids, accepted, strict=True)
        ],
    )
    actor_id, actor_label = _actor_columns(actor)
    bulk_insert(
        AuditEntry,
        AUDIT_INSERT_FIELDS,
        [
            (
                actor_id,
                actor_label,
                AuditEntry.Action.IMPORT.value,
                cid,
                "order",
                str(order_id),
                VIA,
                {"file": file_name, "line": lines[0].line},
                now,
            )
            for order_id, (cid, lines, _) in zip(order_ids, accepted, strict=True)
        ],
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
    _check_options(batch_size, 1)
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
                outcome = _in_batch(
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
