"""Storing candidate pairs: a batch run's many at once, the incremental path's few with their ids."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection

from regard.matching import engine
from regard.matching.models import MatchCandidate, MatchModel, MatchRun

# A pair's comparison levels and term-frequency adjustments, per field (what explain() reads).
Evidence = tuple[np.ndarray, np.ndarray]


def _existing_pairs() -> set[tuple[int, int]]:
    return set(
        MatchCandidate.objects.order_by()  # a set: no need for the queue's ordering
        .values_list("customer_low_id", "customer_high_id")
        .iterator(chunk_size=50_000)
    )


_CANDIDATE_COLUMNS = (
    "customer_low_id",
    "customer_high_id",
    "probability",
    "match_weight",
    "explanation",
    "status",
    "model_id",
    "run_id",
    "source",
    "created_at",
)


def _write_batch_candidates(
    *,
    model_row: MatchModel,
    model: engine.Model,
    pairs: list[tuple[int, int, Evidence, float, float]],
    run: MatchRun,
    now: datetime,
) -> int:
    """A batch run's new candidates, written as plain rows (no model objects): COPY into a
    scratch table on PostgreSQL, then one INSERT that skips pairs written meanwhile (by the
    incremental path); elsewhere one executemany. Returns how many rows are new."""
    wanted = {(low, high) for low, high, *_ in pairs}
    existing = _existing_pairs() & wanted if len(wanted) > 1000 else _existing_among(wanted)
    table = MatchCandidate._meta.db_table
    columns = ", ".join(_CANDIDATE_COLUMNS)
    postgres = connection.vendor == "postgresql"
    rows = (
        row
        for row in _candidate_rows(
            model_row=model_row, model=model, pairs=pairs, run=run, source="batch", now=now
        )
        if (row[0], row[1]) not in existing
    )
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("DROP TABLE IF EXISTS match_candidate_load")
            cursor.execute(
                f"CREATE TEMP TABLE match_candidate_load AS SELECT {columns} FROM {table} WITH NO DATA"  # nosec B608 # SQL names from model metadata, values as parameters
            )
            with cursor.cursor.copy(f"COPY match_candidate_load ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM match_candidate_load "  # nosec B608 # SQL names from model metadata, values as parameters
                "ON CONFLICT DO NOTHING"
            )
            cursor.execute("DROP TABLE match_candidate_load")
        else:
            marks = ", ".join(["%s"] * len(_CANDIDATE_COLUMNS))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # nosec B608 # SQL names from model metadata, values as parameters
            for chunk in engine.iter_chunks(rows, 20_000):
                cursor.executemany(sql, chunk)
    return MatchCandidate.objects.filter(run=run).count()


def _existing_among(wanted: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """The pairs of ``wanted`` already stored (a few: two IN lists, then exact pairs)."""
    if not wanted:
        return set()
    found = (
        MatchCandidate.objects.filter(
            customer_low_id__in={p[0] for p in wanted}, customer_high_id__in={p[1] for p in wanted}
        )
        .order_by()
        .values_list("customer_low_id", "customer_high_id")
    )
    return {pair for pair in found if pair in wanted}


def _candidate_rows(
    *,
    model_row: MatchModel,
    model: engine.Model,
    pairs: Sequence[tuple[int, int, Evidence, float, float]],
    run: MatchRun | None,
    source: str,
    now: datetime,
) -> Iterator[tuple[Any, ...]]:
    """New candidates as plain rows in ``_CANDIDATE_COLUMNS`` order, ready for COPY or INSERT."""
    created_at = now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    status = MatchCandidate.Status.PROPOSED.value
    run_id = run.pk if run is not None else None
    for low, high, evidence, weight, probability in pairs:
        explanation = json.dumps(model.explain(*evidence))
        yield (low, high, probability, weight, explanation, status, model_row.pk, run_id, source, created_at)


def _store_candidates(
    *,
    model_row: MatchModel,
    model: engine.Model,
    pairs: list[tuple[int, int, Evidence, float, float]],
    source: str,
    now: datetime,
) -> list[MatchCandidate]:
    """New rows for pairs never seen before (a decided or proposed pair is left alone), in
    one INSERT that skips stored pairs and returns the new rows' ids."""
    if not pairs:
        return []
    rows = list(
        _candidate_rows(model_row=model_row, model=model, pairs=pairs, run=None, source=source, now=now)
    )
    marks = ", ".join(["(" + ", ".join(["%s"] * len(_CANDIDATE_COLUMNS)) + ")"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MatchCandidate._meta.db_table} ({', '.join(_CANDIDATE_COLUMNS)}) VALUES {marks} "  # nosec B608 # SQL names from model metadata, values as parameters
            "ON CONFLICT DO NOTHING RETURNING id, customer_low_id, customer_high_id",
            [value for row in rows for value in row],
        )
        new_ids = {(low, high): pk for pk, low, high in cursor.fetchall()}
    created = []
    for row in rows:
        pk = new_ids.get((row[0], row[1]))
        if pk is None:
            continue
        fields = dict(zip(_CANDIDATE_COLUMNS, row, strict=True))
        candidate = MatchCandidate(id=pk, **fields | {"explanation": json.loads(row[4]), "created_at": now})
        candidate._state.adding = False
        created.append(candidate)
    return created
