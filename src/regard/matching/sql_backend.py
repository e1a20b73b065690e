"""The ``postgres`` matching backend: a batch run's blocking, comparison and scoring in SQL.

The pairs never come into Python. Python loads the profiles into a temporary table with
the per-value facts the levels need, computed by the engine's own code (mailbox, last
seven phone digits, nickname groups, term-frequency adjustments); PostgreSQL joins the
blocking index (``matching_matchkey``) on itself, grades every pair field by field with
the same levels as ``engine.compare`` (``regard_jaro_winkler`` and ``regard_osa`` from
migration 0002 stand in for rapidfuzz), weighs them with the model's weight table and
returns only the likely pairs. ``tests/matching/test_sql_backend.py`` holds it to the
local engine pair for pair.

SQL generation and execution only: ``services.match_run_execute`` decides when to call it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from regard.matching import engine
from regard.matching.nicknames import NICKNAME_GROUPS

PROFILES = "regard_match_profile"
PAIRS = "regard_match_pair"
MAX_BLOCK = 500  # as engine.block_pairs: a key held by more customers pairs none of them
# SQL sums the weights in another order than numpy: pairs this close below the threshold
# come back too, and the threshold is applied to the engine's own score of them.
THRESHOLD_SLACK = 1e-9
FETCH = 20_000

# Every similarity goes through rapidfuzz's cpdist in the engine, which returns float32:
# the levels compare the float32 value (``::real``) with the thresholds, as the engine does.
_JW = "regard_jaro_winkler({a}, {b})::real"
_OSA = "regard_osa({a}, {b})"


@dataclass(frozen=True)
class ScoredPair:
    """One pair as SQL graded and weighed it (customer ids, low first)."""

    low: int
    high: int
    levels: tuple[int, ...]  # per engine.FIELDS
    adjustments: tuple[float, ...]  # term-frequency adjustment per engine.FIELDS
    weight: float
    probability: float


def _create_profiles(cursor: object) -> None:
    tf = ", ".join(f"tf_{name} double precision NOT NULL" for name in engine.TF_FIELDS)
    text = ", ".join(f"{name} text NOT NULL" for name in engine.FIELDS)
    cursor.execute(  # type: ignore[attr-defined]
        f"CREATE TEMP TABLE {PROFILES} (customer_id bigint PRIMARY KEY, {text}, "
        f"mailbox text NOT NULL, phone_tail text NOT NULL, given_groups integer[] NOT NULL, {tf})"
    )


def _per_value(table: engine.RecordTable, name: str, what: str) -> list[str]:
    """A derived string per vocabulary value of ``name`` ("" where the value has none)."""
    codes, values = table.derived(name, what)
    return [values[code] if code >= 0 else "" for code in codes.tolist()]


def _load_profiles(
    cursor: object,
    *,
    ids: Sequence[int],
    records: Sequence[dict[str, str]],
    table: engine.RecordTable,
    model: engine.Model,
) -> None:
    """COPY the profiles with their per-value facts, from the engine's own functions."""
    boxes = _per_value(table, "email", "mailboxes")
    tails = _per_value(table, "phone", "tails")
    groups = [
        "{" + ",".join(map(str, sorted(NICKNAME_GROUPS.get(name, ())))) + "}"
        for name in table.vocab["given_name"]
    ]
    email_codes, phone_codes = table.codes["email"], table.codes["phone"]
    given_codes = table.codes["given_name"]
    tf_columns = [engine.FIELDS.index(name) for name in engine.TF_FIELDS]
    columns = ", ".join(
        [
            "customer_id",
            *engine.FIELDS,
            "mailbox",
            "phone_tail",
            "given_groups",
            *(f"tf_{name}" for name in engine.TF_FIELDS),
        ]
    )
    chunk = 100_000
    with cursor.cursor.copy(f"COPY {PROFILES} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        for start in range(0, len(ids), chunk):
            index = np.arange(start, min(start + chunk, len(ids)))
            # What an exact agreement on each record's value adds: the engine's own
            # term_adjustments, asked as if every field agreed exactly.
            exact = np.ones((len(index), len(engine.FIELDS)), dtype=np.int8)
            adjustments = model.term_adjustments(table, index, exact)[:, tf_columns].tolist()
            for position, row_tf in zip(index.tolist(), adjustments, strict=True):
                record = records[position]
                email, phone, given = (
                    email_codes[position],
                    phone_codes[position],
                    given_codes[position],
                )
                copy.write_row(
                    (
                        ids[position],
                        *(record[name] for name in engine.FIELDS),
                        boxes[email] if email >= 0 else "",
                        tails[phone] if phone >= 0 else "",
                        groups[given] if given >= 0 else "{}",
                        *row_tf,
                    )
                )
    cursor.execute(f"ANALYZE {PROFILES}")  # type: ignore[attr-defined]


def _block(cursor: object, *, max_block: int) -> int:
    """The blocked pairs: customers sharing a key of the index, keys held by at most
    ``max_block`` of the loaded (active) customers. Every rule's hash mixes in the rule
    number, so one self-join on ``key_hash`` is every rule at once."""
    cursor.execute(  # type: ignore[attr-defined]
        f"""
        CREATE TEMP TABLE {PAIRS} AS
        WITH keys AS MATERIALIZED (
            SELECT DISTINCT k.key_hash, k.customer_id
            FROM matching_matchkey k JOIN {PROFILES} p ON p.customer_id = k.customer_id
        ), blocks AS (
            SELECT key_hash FROM keys GROUP BY key_hash HAVING count(*) BETWEEN 2 AND %s
        ), members AS (
            SELECT keys.key_hash, keys.customer_id FROM keys JOIN blocks USING (key_hash)
        )
        SELECT DISTINCT a.customer_id AS low_id, b.customer_id AS high_id
        FROM members a JOIN members b ON b.key_hash = a.key_hash AND a.customer_id < b.customer_id
        """,
        [max_block],
    )
    cursor.execute(f"SELECT count(*) FROM {PAIRS}")  # type: ignore[attr-defined]
    (count,) = cursor.fetchone()  # type: ignore[attr-defined]
    cursor.execute(f"ANALYZE {PAIRS}")  # type: ignore[attr-defined]
    return int(count)


def _drop(cursor: object) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {PAIRS}, {PROFILES}")  # type: ignore[attr-defined]


@contextmanager
def loaded(
    *,
    ids: Sequence[int],
    records: Sequence[dict[str, str]],
    table: engine.RecordTable,
    model: engine.Model,
    max_block: int = MAX_BLOCK,
) -> Iterator[int]:
    """Profiles loaded and pairs blocked in temporary tables, for one transaction; yields
    the number of blocked pairs. The blocking index must already hold these profiles' keys
    (``services._rebuild_keys``)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _drop(cursor)
        _create_profiles(cursor)
        _load_profiles(cursor, ids=ids, records=records, table=table, model=model)
        yield _block(cursor, max_block=max_block)
        _drop(cursor)


# ------------------------------------------------------------------ the levels


def _missing_or_exact(name: str) -> str:
    return f"WHEN a.{name} = '' OR b.{name} = '' THEN 0 WHEN a.{name} = b.{name} THEN 1"


def _fixed_levels() -> dict[str, str]:
    """Per field, the levels decided without a similarity (NULL: the similarity decides)."""
    fixed = {name: _missing_or_exact(name) for name in engine.FIELDS}
    # One name the start of the other (Jon/Jonathan, the shorter at least three letters),
    # or both in one nickname group (nicknames.are_nicknames).
    fixed["given_name"] += (
        " WHEN (least(length(a.given_name), length(b.given_name)) >= 3"
        " AND (starts_with(a.given_name, b.given_name) OR starts_with(b.given_name, a.given_name)))"
        " OR a.given_groups && b.given_groups THEN 2"
    )
    # Day and month exchanged, on the YYYYMMDD number as the engine reads it.
    x, y = "a.date_of_birth::bigint", "b.date_of_birth::bigint"
    fixed["date_of_birth"] += (
        f" WHEN {x} / 10000 = {y} / 10000 AND mod({x} / 100, 100) = mod({y}, 100)"
        f" AND mod({x}, 100) = mod({y} / 100, 100) THEN 2"
    )
    # The same mailbox (dots and +tags ignored), at least three characters long.
    fixed["email"] += " WHEN a.mailbox = b.mailbox AND length(a.mailbox) >= 3 THEN 2"
    fixed["phone"] += " WHEN a.phone_tail = b.phone_tail AND a.phone_tail <> '' THEN 2"
    return {name: f"CASE {cases} END" for name, cases in fixed.items()}


# (similarity SQL on the two values, grades best first, level below every grade)
_SIMILARITY: dict[str, tuple[str, tuple[tuple[str, int], ...], int]] = {
    "given_name": (_JW, ((">= 0.92", 3), (">= 0.80", 4)), 6),  # 5 is 'swapped', set below
    "family_name": (_JW, ((">= 0.92", 2), (">= 0.80", 3)), 5),  # 4 is 'swapped'
    "date_of_birth": (_OSA, (("<= 1", 2), ("<= 2", 3)), 4),
    "street": (_JW, ((">= 0.90", 2), (">= 0.75", 3)), 4),
    "locality": (_JW, ((">= 0.88", 2),), 3),
    "postcode": (_OSA, (("<= 1", 2),), 3),
    "email": (_JW, ((">= 0.88", 3),), 4),
    "phone": (_OSA, (("<= 1", 3),), 4),
    "account": (_OSA, (("<= 1", 2),), 3),
}
_COMPARED = {"email": "mailbox"}  # email's similarity is between the mailboxes


def _literal(values: Sequence[float]) -> str:
    return "'{" + ",".join(repr(float(v)) for v in values) + "}'::double precision[]"


def score_sql(model: engine.Model, *, min_probability: float | None) -> tuple[str, list[float]]:
    """One query over the blocked pairs: levels, term-frequency adjustments, weight and
    probability, in layers (``OFFSET 0`` keeps PostgreSQL from inlining one layer into the
    next, which would call the similarity functions once per reference)."""
    fixed = _fixed_levels()
    values = ", ".join(
        f"a.{column} AS {name}_a, b.{column} AS {name}_b"
        for name in engine.FIELDS
        for column in [_COMPARED.get(name, name)]
    )
    cross = "a.given_name AS cross_given_a, b.family_name AS cross_family_b, a.family_name AS cross_family_a, b.given_name AS cross_given_b"
    tf = ", ".join(f"a.tf_{name}" for name in engine.TF_FIELDS)
    first = ", ".join(f"{fixed[name]} AS {name}_fixed" for name in engine.FIELDS)
    measured = ", ".join(
        f"CASE WHEN {name}_fixed IS NULL THEN "
        f"{_SIMILARITY[name][0].format(a=f'{name}_a', b=f'{name}_b')} END AS {name}_measure"
        for name in engine.FIELDS
    )

    def graded(name: str) -> str:
        _, grades, below = _SIMILARITY[name]
        cases = " ".join(f"WHEN {name}_measure {test} THEN {level}" for test, level in grades)
        return f"coalesce({name}_fixed, CASE {cases} ELSE {below} END) AS {name}"

    levels = ", ".join(graded(name) for name in engine.FIELDS)
    others = ", ".join(name for name in engine.FIELDS if name not in ("given_name", "family_name"))
    tf_names = ", ".join(f"tf_{name}" for name in engine.TF_FIELDS)
    # Given and family name exchanged (engine._mark_swapped_names): only between names that
    # are not already close (given level ≥ 4, family ≥ 3, so all four are present).
    swapped = (
        "CASE WHEN given_name >= 4 AND family_name >= 3 THEN CASE WHEN "
        + _JW.format(a="cross_given_a", b="cross_family_b")
        + " >= 0.92 THEN "
        + _JW.format(a="cross_family_a", b="cross_given_b")
        + " >= 0.92 ELSE false END ELSE false END AS swapped"
    )
    weights = model.weight_table()
    weight_terms = " + ".join(
        [f"{float(model.prior_weight)!r}::double precision"]
        + [f"({_literal(weights[column])})[{name} + 1]" for column, name in enumerate(engine.FIELDS)]
        + [f"adjust_{name}" for name in engine.TF_FIELDS]
    )
    # Only an exact agreement is adjusted (a swapped name is never exact, so the level before
    # the swap check tells).
    adjusted = ", ".join(
        f"CASE WHEN {name} = 1 THEN tf_{name} ELSE 0::double precision END AS adjust_{name}"
        for name in engine.TF_FIELDS
    )
    level_names = ", ".join(engine.FIELDS)
    adjust_names = ", ".join(f"adjust_{name}" for name in engine.TF_FIELDS)
    sql = f"""
        SELECT low_id, high_id, {level_names}, {adjust_names}, weight,
               1::double precision / (1::double precision
                   + power(2::double precision, -greatest(least(weight, 60), -60))) AS probability
        FROM (
            SELECT low_id, high_id, {level_names}, {adjust_names}, {weight_terms} AS weight
            FROM (
                SELECT low_id, high_id,
                       CASE WHEN swapped THEN 5 ELSE given_name END AS given_name,
                       CASE WHEN swapped THEN 4 ELSE family_name END AS family_name,
                       {others}, {adjusted}
                FROM (
                    SELECT *, {swapped}
                    FROM (
                        SELECT low_id, high_id, {levels}, {tf_names},
                               cross_given_a, cross_family_b, cross_family_a, cross_given_b
                        FROM (
                            SELECT *, {measured}
                            FROM (
                                SELECT p.low_id, p.high_id, {values}, {cross}, {tf}, {first}
                                FROM {PAIRS} p
                                JOIN {PROFILES} a ON a.customer_id = p.low_id
                                JOIN {PROFILES} b ON b.customer_id = p.high_id
                                OFFSET 0
                            ) joined OFFSET 0
                        ) measured OFFSET 0
                    ) graded OFFSET 0
                ) crossed OFFSET 0
            ) final OFFSET 0
        ) weighed
    """
    params: list[float] = []
    if min_probability is not None:
        sql = f"SELECT * FROM ({sql}) scored WHERE probability >= %s"
        params.append(min_probability)
    return sql + " ORDER BY low_id, high_id", params


def scored(model: engine.Model, *, min_probability: float | None) -> Iterator[ScoredPair]:
    """The blocked pairs (of ``loaded``) at or above ``min_probability`` (all if None),
    streamed through a server-side cursor, low id then high id."""
    sql, params = score_sql(model, min_probability=min_probability)
    tf_columns = [engine.FIELDS.index(name) for name in engine.TF_FIELDS]
    width = len(engine.FIELDS)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(FETCH):
            for row in rows:
                adjustments = [0.0] * width
                for column, value in zip(
                    tf_columns, row[2 + width : 2 + width + len(tf_columns)], strict=True
                ):
                    adjustments[column] = value
                yield ScoredPair(
                    low=row[0],
                    high=row[1],
                    levels=tuple(row[2 : 2 + width]),
                    adjustments=tuple(adjustments),
                    weight=row[-2],
                    probability=row[-1],
                )


Likely = tuple[int, int, tuple[np.ndarray, np.ndarray], float, float]


def score_batch(
    *,
    ids: Sequence[int],
    records: Sequence[dict[str, str]],
    table: engine.RecordTable,
    model: engine.Model,
    threshold: float,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[int, list[Likely]]:
    """(pairs compared, the pairs at or above ``threshold`` as services stores them).

    The weight and probability kept are the engine's ``Model.score`` of the levels and
    adjustments SQL found, so both backends store the same numbers to the last bit.
    """
    likely: list[Likely] = []
    with loaded(ids=ids, records=records, table=table, model=model) as compared:
        if progress is not None:
            progress("scoring pairs", 0.3)
        batch: list[ScoredPair] = []
        for pair in scored(model, min_probability=threshold - THRESHOLD_SLACK):
            batch.append(pair)
            if len(batch) >= FETCH:
                likely.extend(_rescored(model, batch, threshold))
                batch = []
        likely.extend(_rescored(model, batch, threshold))
    return compared, likely


def _rescored(model: engine.Model, batch: list[ScoredPair], threshold: float) -> list[Likely]:
    if not batch:
        return []
    levels = np.array([pair.levels for pair in batch], dtype=np.int8)
    adjustments = np.array([pair.adjustments for pair in batch], dtype=np.float64)
    weights, probability = model.score(levels, adjustments)
    return [
        (batch[k].low, batch[k].high, (levels[k], adjustments[k]), float(weights[k]), float(probability[k]))
        for k in np.flatnonzero(probability >= threshold).tolist()
    ]
