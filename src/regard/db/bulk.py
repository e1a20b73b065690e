"""Bulk writes and many-value lookups, each with its PostgreSQL form and the portable fallback.

PostgreSQL gets COPY, ``UPDATE … FROM (VALUES …)``, ``INSERT … SELECT … FROM unnest(…)`` and
array parameters: one statement, and no thousands of placeholders to build and parse. Other
databases (SQLite) get Django's own ``bulk_create`` / ``bulk_update`` and ``IN`` lists cut to
the driver's parameter limit. Callers hold the transaction.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import psycopg
from django.db import connection, models
from django.db.models import Field
from django.db.models.expressions import RawSQL

M = TypeVar("M", bound=models.Model)
V = TypeVar("V")


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _json_fields(model: type[models.Model]) -> set[str]:
    return {f.attname for f in model._meta.concrete_fields if isinstance(f, models.JSONField)}


def insert(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple[Any, ...]], *, ids: bool = False
) -> list[int]:
    """Insert rows (values in ``fields`` order, by attname); return their primary keys if ``ids``.

    PostgreSQL gets one COPY per call with keys drawn from the table's sequence first;
    other databases get bulk_create.
    """
    if not rows:
        return []
    if not is_postgresql():
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


def update(rows: Sequence[M], fields: Sequence[str]) -> None:
    """Write ``fields`` of many rows of one model in one statement (PostgreSQL: UPDATE … FROM VALUES)."""
    if not rows:
        return
    model = type(rows[0])
    if not is_postgresql() or len(rows) == 1:
        model._default_manager.bulk_update(rows, list(fields))
        return
    meta = model._meta
    quote = connection.ops.quote_name
    columns: list[Field[Any, Any]] = []
    for name in fields:
        field = meta.get_field(name)
        assert isinstance(field, Field)
        columns.append(field)
    types = [str(c.db_type(connection)) for c in [meta.pk, *columns] if c is not None]
    row_sql = "(" + ", ".join(f"%s::{t}" for t in types) + ")"
    params: list[Any] = []
    for row in rows:
        params.append(row.pk)
        params.extend(c.get_db_prep_save(getattr(row, c.attname), connection) for c in columns)
    names = [quote(str(c.column)) for c in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} AS t SET {', '.join(f'{n} = v.{n}' for n in names)}"  # nosec B608 # SQL names from model metadata, values as parameters
            f" FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v(id, {', '.join(names)})"
            f" WHERE t.id = v.id",
            params,
        )


def insert_per_key(
    template: models.Model,
    *,
    field: str,
    keys: Sequence[int],
    unique: str,
    prefixed: Mapping[str, str] | None = None,
) -> None:
    """One row per key: ``field`` takes the key, each ``prefixed`` field its prefix followed by the
    key, every other column the template's value. A row whose ``unique`` column is taken already
    is skipped (the row there is kept).

    PostgreSQL makes the rows itself from one array of keys; elsewhere bulk_create copies the template.
    """
    model = type(template)
    prefixed = prefixed or {}
    if not is_postgresql():
        rows = []
        for key in keys:
            row = copy.copy(template)
            setattr(row, field, key)
            for name, prefix in prefixed.items():
                setattr(row, name, f"{prefix}{key}")
            rows.append(row)
        model._default_manager.bulk_create(rows, ignore_conflicts=True)
        return
    quote = connection.ops.quote_name
    conflict = {f.attname: str(f.column) for f in model._meta.concrete_fields}[unique]
    columns: list[str] = []
    values: list[str] = []
    params: list[Any] = []
    for column in model._meta.concrete_fields:
        if column.primary_key:
            continue
        columns.append(quote(str(column.column)))
        if column.attname in prefixed:
            values.append("%s || u.key::text")
            params.append(prefixed[column.attname])
        elif column.attname == field:
            values.append("u.key")
        else:
            values.append(f"%s::{column.db_type(connection)}")
            params.append(column.get_db_prep_save(getattr(template, column.attname), connection))
    params.append(list(keys))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)})"  # nosec B608 # SQL names from model metadata, values as parameters
            f" SELECT {', '.join(values)} FROM unnest(%s::bigint[]) AS u(key)"
            f" ON CONFLICT ({quote(conflict)}) DO NOTHING",
            params,
        )


# --- many values in one lookup ---------------------------------------------------------------

# Below this many ids a plain IN list is as cheap as the array parameter.
ARRAY_FROM = 50
ARRAY_TYPES = frozenset({"bigint", "text"})


def one_of(values: list[V], *, db_type: str = "bigint") -> list[V] | RawSQL:
    """The right side of ``field__in`` for many values.

    On PostgreSQL one array parameter (``IN (SELECT unnest(%s))``): a list of thousands of values
    costs more to turn into placeholders and parse than the query costs to run.
    """
    if db_type not in ARRAY_TYPES:
        raise ValueError(f"db_type: one of {', '.join(sorted(ARRAY_TYPES))}")
    if is_postgresql() and len(values) > ARRAY_FROM:
        # The type is one of ARRAY_TYPES (checked above); the values travel as one parameter.
        return RawSQL(f"SELECT unnest(%s::{db_type}[])", (values,))  # nosec B611
    return values


def in_chunks(values: Sequence[V]) -> Iterator[list[V]]:
    """``values`` cut so that each ``field__in=one_of(chunk)`` fits the driver's parameter limit
    (PostgreSQL: one chunk, as one array parameter)."""
    if not values:
        return
    if is_postgresql():
        yield list(values)
        return
    step = min(connection.features.max_query_params or 5000, 5000) - 10
    for start in range(0, len(values), step):
        yield list(values[start : start + step])


def fetch_prepared(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a small query asked many times a second; PostgreSQL prepares it server-side, as
    planning it would cost more than running it."""
    if is_postgresql():
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as raw:
            return raw.execute(sql, params, prepare=True).fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
