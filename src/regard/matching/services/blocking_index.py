"""The blocking index (``MatchKey``): brought in line with the profiles by each batch run."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import connection, transaction

from regard.matching import engine
from regard.matching.models import MatchKey

# Rebuilding a blocking index of at least this many rows on PostgreSQL sets its index and
# foreign key aside during the COPY (a test lowers it).
BULK_KEY_ROWS = 50_000


def _sorted_unique(rows: np.ndarray) -> np.ndarray:
    """(n, 2) int64 rows, sorted by (key hash, customer), each once."""
    rows = rows[np.lexsort((rows[:, 1], rows[:, 0]))]
    if len(rows) > 1:
        rows = rows[np.r_[True, (rows[1:] != rows[:-1]).any(axis=1)]]
    return rows


def _rows_not_in(rows: np.ndarray, other: np.ndarray) -> np.ndarray:
    """The rows of ``rows`` (sorted, unique) that ``other`` (sorted, unique) lacks."""
    both = np.concatenate([rows, other])
    tag = np.r_[np.zeros(len(rows), dtype=np.int8), np.ones(len(other), dtype=np.int8)]
    order = np.lexsort((tag, both[:, 1], both[:, 0]))
    both, tag = both[order], tag[order]
    # within equal rows the one from ``rows`` (tag 0) sorts first; it is matched if the next is ``other``'s
    matched = np.zeros(len(both), dtype=bool)
    if len(both) > 1:
        matched[:-1] = (both[1:] == both[:-1]).all(axis=1) & (tag[1:] == 1)
    return both[(tag == 0) & ~matched]


def _read_keys(cursor: Any, table: str) -> np.ndarray:
    cursor.execute(f"SELECT key_hash, customer_id FROM {table}")  # nosec B608 # SQL names from model metadata, values as parameters
    parts = []
    while batch := cursor.fetchmany(200_000):
        parts.append(np.array(batch, dtype=np.int64).reshape(-1, 2))
    return np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.int64)


def _rebuild_keys(ids: list[int], index: engine.BlockIndex) -> None:
    """Bring the blocking index (MatchKey) in line with the keys of the current profiles.

    The incremental path keeps the index nearly current, so only the difference is
    written, in key order (the lookup index's order); PostgreSQL takes new rows through COPY.
    """
    wanted = index.distinct_rows()
    if len(wanted):
        wanted[:, 1] = np.asarray(ids, dtype=np.int64)[wanted[:, 1]]
    wanted = _sorted_unique(wanted)
    table = MatchKey._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        existing = _sorted_unique(_read_keys(cursor, table))
        stale = _rows_not_in(existing, wanted)
        fresh = _rows_not_in(wanted, existing)
        changes = len(stale) + len(fresh)
        if connection.vendor == "postgresql" and len(wanted) >= BULK_KEY_ROWS and changes * 2 > len(wanted):
            _replace_keys_in_bulk(cursor, table, wanted)  # a first index (empty table) or mostly new
            return
        if len(stale) * 2 > len(existing):  # mostly stale: clearing is cheaper than row deletes
            cursor.execute(f"DELETE FROM {table}")  # nosec B608 # SQL names from model metadata, values as parameters
            fresh = wanted
        elif len(stale):
            cursor.executemany(
                f"DELETE FROM {table} WHERE key_hash = %s AND customer_id = %s",  # nosec B608 # SQL names from model metadata, values as parameters
                stale.tolist(),
            )
        if connection.vendor == "postgresql":
            _copy_rows(cursor, table, fresh)
            return
        sql = f"INSERT INTO {table} (key_hash, customer_id) VALUES (%s, %s)"  # nosec B608 # SQL names from model metadata, values as parameters
        for start in range(0, len(fresh), 100_000):
            cursor.executemany(sql, fresh[start : start + 100_000].tolist())


def _copy_rows(cursor: Any, table: str, rows: np.ndarray) -> None:
    with cursor.cursor.copy(f"COPY {table} (key_hash, customer_id) FROM STDIN") as copy:
        for start in range(0, len(rows), 100_000):
            for row in rows[start : start + 100_000].tolist():
                copy.write_row(row)


def _replace_keys_in_bulk(cursor: Any, table: str, rows: np.ndarray) -> None:
    """A first (or wholly new) index on PostgreSQL: emptied, filled by COPY with its lookup
    index and foreign key set aside, both rebuilt once at the end. Row by row, the deferred
    foreign-key checks alone took 1,245 s at COMMIT for a million customers' 18M rows."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    foreign_keys = cursor.fetchall()
    # Checks still pending in this transaction would forbid the ALTER: run them now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _ in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute(f"TRUNCATE {table}")
    _copy_rows(cursor, table, rows)
    for _, definition in indexes:
        cursor.execute(definition)
    for name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')  # checked in one pass
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys are initially deferred
