"""Customers from a CSV: a new profile for every new row, "already present" for a known one (C1)."""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.utils import timezone

from regard.customers.importing.load import (
    IDENTIFIER_INSERT_FIELDS,
    SOURCE,
    audit_rows_insert,
    identifier_owners,
    in_batch,
)
from regard.customers.importing.rows import (
    CustomerRow,
    Layout,
    RowError,
    customer_layout_read,
    customer_rows_clean,
)
from regard.customers.importing.source import (
    CsvSource,
    ErrorReport,
    ImportReport,
    ProgressCallback,
    check_options,
    default_errors_path,
    records_in_chunks,
)
from regard.customers.models import Customer, Identifier
from regard.customers.services import PROFILE_FIELDS, Actor, TimelineEntry, timeline_append_many
from regard.db import bulk
from regard.privacy.models import Tombstone
from regard.privacy.tombstone import ERASED_MESSAGE, tombstoned_since

CHUNK_ROWS = 1000  # rows per validation task handed to a worker process
CUSTOMER_INSERT_FIELDS = (*PROFILE_FIELDS, "search_text", "source", "created_at", "updated_at")


def _customer_chunks_validated(
    source: CsvSource, layout: Layout, *, workers: int
) -> Iterator[tuple[list[CustomerRow], list[RowError]]]:
    """Validated chunks in file order; with workers > 1, validation runs in forked processes
    while this one writes, with a bounded number of chunks in flight."""
    chunks = records_in_chunks(source.records(), CHUNK_ROWS)
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
    owners = identifier_owners({(kind, value) for row in rows for kind, _, value in row.identifiers})
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

    customer_ids = bulk.insert(
        Customer,
        CUSTOMER_INSERT_FIELDS,
        [(*row.profile, row.search_text, SOURCE, now, now) for row in new_rows],
        ids=True,
    )
    written = list(zip(customer_ids, new_rows, strict=True))
    bulk.insert(
        Identifier,
        IDENTIFIER_INSERT_FIELDS,
        [
            (customer_id, kind, raw, value, SOURCE, now)
            for customer_id, row in written
            for kind, raw, value in row.identifiers
        ],
    )
    timeline_append_many(
        entries=(
            TimelineEntry(
                customer_id=customer_id,
                kind="customer.created",
                channel=SOURCE,
                summary=f"Profile created from {SOURCE}",
                subject_model=Customer,
                subject_id=customer_id,
                data={"identifiers": [kind for kind, _, _ in row.identifiers]},
            )
            for customer_id, row in written
        ),
        now=now,
    )
    audit_rows_insert(
        actor=actor,
        object_type="customer",
        written=((customer_id, customer_id, row.line) for customer_id, row in written),
        file_name=file_name,
        now=now,
    )
    outcome.imported = len(new_rows)
    return outcome


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
    check_options(batch_size, workers)
    started = time.perf_counter()
    errors_path = errors_path or default_errors_path(path)
    report = ImportReport(kind="customers", errors_path=errors_path)
    with CsvSource(path) as source:
        layout = customer_layout_read(source.header)
        with ErrorReport(errors_path) as errors:
            pending: list[CustomerRow] = []

            def write(rows: list[CustomerRow]) -> None:
                stamp = now or timezone.now()
                outcome = in_batch(
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
