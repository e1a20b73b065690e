"""The ``postgres`` matching backend: a batch run's blocking, comparison and scoring in SQL.

The pairs never come into Python. Python loads the profiles into a working table with
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
from typing import Any

import numpy as np
from django.db import connection, transaction

from regard.matching import engine
from regard.matching.nicknames import NICKNAME_GROUPS

SCORED = "regard_match_scored"
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


def _create_profiles(cursor: Any, profiles: str) -> None:
    tf = ", ".join(f"tf_{name} double precision NOT NULL" for name in engine.TF_FIELDS)
    text = ", ".join(f"{name} text NOT NULL" for name in engine.FIELDS)
    cursor.execute(
        f"CREATE UNLOGGED TABLE {profiles} (customer_id bigint PRIMARY KEY, {text}, "
        f"mailbox text NOT NULL, phone_tail text NOT NULL, given_groups integer[] NOT NULL, {tf})"
    )


def _per_value(table: engine.RecordTable, name: str, what: str) -> list[str]:
    """A derived string per vocabulary value of ``name`` ("" where the value has none)."""
    codes, values = table.derived(name, what)
    return [values[code] if code >= 0 else "" for code in codes.tolist()]


def _load_profiles(
    cursor: Any,
    profiles: str,
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
    with cursor.cursor.copy(f"COPY {profiles} ({columns}) FROM STDIN") as copy:
        for start in range(0, len(ids), chunk):
            index = np.arange(start, min(start + chunk, len(ids)))
            # What an exact agreement on each record's value adds: the engine's own
            # term_adjustments, asked as if every field the record has agreed exactly.
            present = np.stack([table.codes[name][index] >= 0 for name in engine.FIELDS], axis=1)
            adjustments = model.term_adjustments(table, index, present.astype(np.int8))
            adjustments = adjustments[:, tf_columns].tolist()
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
    cursor.execute(f"ANALYZE {profiles}")


def _block(cursor: Any, *, profiles: str, pairs: str, max_block: int) -> int:
    """The blocked pairs: customers sharing a key of the index, keys held by at most
    ``max_block`` of the loaded (active) customers. Every rule's hash mixes in the rule
    number, so grouping the index by ``key_hash`` is every rule at once.

    Pairs come from unnesting each key's sorted members against the members after them,
    not from a self-join: a join's plan rests on estimates, and a self-join took 3 s on
    20,000 customers with one plan and over ten minutes with another. The DISTINCT aggregates
    also keep the grouping sorted: hashing a few hundred thousand array_agg states at
    once exhausts memory."""
    cursor.execute(
        f"""
        CREATE UNLOGGED TABLE {pairs} AS
        SELECT DISTINCT x.low_id, y.high_id
        FROM (
            SELECT array_agg(DISTINCT k.customer_id ORDER BY k.customer_id) AS members
            FROM matching_matchkey k
            WHERE k.customer_id IN (SELECT customer_id FROM {profiles})
            GROUP BY k.key_hash
            HAVING count(DISTINCT k.customer_id) BETWEEN 2 AND %s
        ) blocks
        CROSS JOIN LATERAL unnest(blocks.members) WITH ORDINALITY AS x(low_id, position)
        CROSS JOIN LATERAL unnest(blocks.members[x.position + 1 :]) AS y(high_id)
        """,  # nosec B608 # SQL names from model metadata, values as parameters
        [max_block],
    )
    cursor.execute(f"SELECT count(*) FROM {pairs}")  # nosec B608 # SQL names from model metadata, values as parameters
    (count,) = cursor.fetchone()
    cursor.execute(f"ANALYZE {pairs}")
    return int(count)


@dataclass(frozen=True)
class Loaded:
    """The working tables of one batch run, and how many pairs were blocked."""

    profiles: str
    pairs: str
    levels: str
    compared: int


@contextmanager
def loaded(
    *,
    ids: Sequence[int],
    records: Sequence[dict[str, str]],
    table: engine.RecordTable,
    model: engine.Model,
    max_block: int = engine.MAX_BLOCK,
) -> Iterator[Loaded]:
    """Profiles loaded and pairs blocked, inside one transaction (use ``scored`` within it).
    The blocking index must already hold these profiles' keys (``services._rebuild_keys``).

    The tables are UNLOGGED, not TEMPORARY, because parallel workers cannot read a
    session's temporary tables; they are created in the transaction (named after the
    server process, so runs in other sessions never meet them) and vanish with it if it
    fails."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
        profiles, pairs, levels = (f"regard_match_{what}_{pid}" for what in ("profile", "pair", "level"))
        cursor.execute(f"DROP TABLE IF EXISTS {levels}, {pairs}, {profiles}")
        _create_profiles(cursor, profiles)
        _load_profiles(cursor, profiles, ids=ids, records=records, table=table, model=model)
        compared = _block(cursor, profiles=profiles, pairs=pairs, max_block=max_block)
        yield Loaded(profiles=profiles, pairs=pairs, levels=levels, compared=compared)
        cursor.execute(f"DROP TABLE {pairs}, {profiles}")


# ------------------------------------------------------------------ the levels


def _missing_or_exact(name: str) -> str:
    return f"WHEN a.{name} = '' OR b.{name} = '' THEN 0 WHEN a.{name} = b.{name} THEN 1"


# One given name the start of the other (Jon/Jonathan, the shorter at least three
# letters), or both in one nickname group (nicknames.are_nicknames).
_NICKNAME = (
    "(least(length(a.given_name), length(b.given_name)) >= 3"
    " AND (starts_with(a.given_name, b.given_name) OR starts_with(b.given_name, a.given_name)))"
    " OR a.given_groups && b.given_groups"
)


def _fixed_levels() -> dict[str, str]:
    """Per field, the levels decided without a similarity (NULL: the similarity decides)."""
    fixed = {name: _missing_or_exact(name) for name in engine.FIELDS}
    fixed["given_name"] += f" WHEN {_NICKNAME} THEN 2"
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


# Per field: the similarity and its grades, best first, as (bound, level), and the level
# below every grade. A Jaro–Winkler grade holds from its bound up, an OSA grade up to it.
_GRADES: dict[str, tuple[str, tuple[tuple[float, int], ...], int]] = {
    "given_name": ("jw", ((0.92, 3), (0.80, 4)), 6),  # 5 is 'swapped', set below
    "family_name": ("jw", ((0.92, 2), (0.80, 3)), 5),  # 4 is 'swapped'
    "date_of_birth": ("osa", ((1, 2), (2, 3)), 4),
    "street": ("jw", ((0.90, 2), (0.75, 3)), 4),
    "locality": ("jw", ((0.88, 2),), 3),
    "postcode": ("osa", ((1, 2),), 3),
    "email": ("jw", ((0.88, 3),), 4),
    "phone": ("osa", ((1, 3),), 4),
    "account": ("osa", ((1, 2),), 3),
}
_COMPARED = {"email": "mailbox"}  # email's similarity is between the mailboxes


def _graded(name: str) -> str:
    """The similarity of the field's two values graded into a level, calling the function
    once: a simple CASE evaluates its operand once, ``width_bucket`` counts the bounds the
    similarity reaches (bounds are inclusive, as the engine's ``>=``)."""
    kind, grades, below = _GRADES[name]
    column = _COMPARED.get(name, name)
    a, b = f"a.{column}", f"b.{column}"
    if kind == "jw":
        bounds = ", ".join(f"{bound!r}::double precision" for bound, _ in reversed(grades))
        cases = " ".join(f"WHEN {len(grades) - k} THEN {level}" for k, (_, level) in enumerate(grades))
        return f"CASE width_bucket({_JW.format(a=a, b=b)}, ARRAY[{bounds}]) {cases} ELSE {below} END"
    cases = " ".join(
        f"WHEN {distance} THEN {next(level for bound, level in grades if distance <= bound)}"
        for distance in range(int(max(bound for bound, _ in grades)) + 1)
    )
    return f"CASE {_OSA.format(a=a, b=b)} {cases} ELSE {below} END"


def _literal(values: Sequence[float]) -> str:
    return "'{" + ",".join(repr(float(v)) for v in values) + "}'::double precision[]"


def levels_sql(*, profiles: str, pairs: str) -> str:
    """Comparison, one row per blocked pair: each field's level before the swapped-names
    rule, whether the names cross over, and the term-frequency adjustments.

    Every similarity call appears once in the query, and only where cheaper tests left the
    level open: an expression used twice would be computed twice (PostgreSQL shares no
    common subexpressions), and a subquery that kept it apart would keep out parallel workers."""
    fixed = _fixed_levels()
    levels = ", ".join(
        f"coalesce({fixed[name]}, {_graded(name)})::smallint AS {name}" for name in engine.FIELDS
    )
    present = " AND ".join(f"{side}.{name} <> ''" for name in ("given_name", "family_name") for side in "ab")
    # Given and family name exchanged (engine.comparison._mark_swapped_names) counts only where the given
    # level is 4 or worse and the family level 3 or worse: both names present, not equal, and
    # the given names no nicknames, is what can be told without their similarity; the rest
    # is applied when scoring, from the levels.
    crossed = (
        f"CASE WHEN {present} AND a.given_name <> b.given_name AND a.family_name <> b.family_name"
        f" AND NOT ({_NICKNAME}) THEN CASE WHEN "
        + _JW.format(a="a.given_name", b="b.family_name")
        + " >= 0.92::double precision THEN "
        + _JW.format(a="a.family_name", b="b.given_name")
        + " >= 0.92::double precision ELSE false END ELSE false END AS crossed"
    )
    # Only an exact agreement is adjusted, by what a's value (b's too) is worth.
    adjustments = ", ".join(
        f"CASE WHEN a.{name} <> '' AND a.{name} = b.{name} THEN a.tf_{name} ELSE 0::double precision END"
        f" AS adjust_{name}"
        for name in engine.TF_FIELDS
    )
    return f"""
        SELECT p.low_id, p.high_id, {levels}, {crossed}, {adjustments}
        FROM {pairs} p
        JOIN {profiles} a ON a.customer_id = p.low_id
        JOIN {profiles} b ON b.customer_id = p.high_id
    """  # nosec B608 # SQL names from model metadata, values as parameters


def score_sql(model: engine.Model, *, levels: str, min_probability: float | None) -> tuple[str, list[float]]:
    """Scoring over the comparison table: the final levels (names swapped), the weight from
    the model's weight table, prior and adjustments, and the probability 1 / (1 + 2^-w)
    with w clipped to [-60, 60], as ``engine.Model.score``."""
    swapped = "(crossed AND given_name >= 4 AND family_name >= 3)"
    final = {name: name for name in engine.FIELDS}
    final["given_name"] = f"CASE WHEN {swapped} THEN 5 ELSE given_name END"
    final["family_name"] = f"CASE WHEN {swapped} THEN 4 ELSE family_name END"
    weights = model.weight_table()
    weight = " + ".join(
        [f"{float(model.prior_weight)!r}::double precision"]
        + [f"({_literal(weights[column])})[{final[name]} + 1]" for column, name in enumerate(engine.FIELDS)]
        + [f"adjust_{name}" for name in engine.TF_FIELDS]
    )
    probability = (
        f"1::double precision / (1::double precision + power(2::double precision, -greatest(least({weight}, "
        "60::double precision), -60::double precision)))"
    )
    outputs = ", ".join(
        [f"{final[name]} AS {name}" for name in engine.FIELDS]
        + [f"adjust_{name}" for name in engine.TF_FIELDS]
    )
    sql = f"SELECT low_id, high_id, {outputs}, {weight} AS weight, {probability} AS probability FROM {levels}"  # nosec B608 # SQL names from model metadata, values as parameters
    params: list[float] = []
    if min_probability is not None:
        sql += f" WHERE {probability} >= %s"
        params.append(min_probability)
    return sql, params


def scored(loaded: Loaded, model: engine.Model, *, min_probability: float | None) -> Iterator[ScoredPair]:
    """The blocked pairs at or above ``min_probability`` (all if None), low id then high id.

    Compared into a working table, then scored into a temporary one: PostgreSQL runs a
    query in parallel workers only when it is not read through a cursor (and they cannot
    read temporary tables); only the likely pairs are streamed to Python, through a
    server-side cursor."""
    levels = loaded.levels
    sql, params = score_sql(model, levels=levels, min_probability=min_probability)
    tf_columns = [engine.FIELDS.index(name) for name in engine.TF_FIELDS]
    width = len(engine.FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCORED}, {levels}")
        # Let the planner use parallel workers (up to max_parallel_workers_per_gather) even
        # for a small pairs table: every row costs several function calls.
        cursor.execute("SET LOCAL parallel_setup_cost = 0")
        cursor.execute("SET LOCAL min_parallel_table_scan_size = 0")
        cursor.execute(
            f"CREATE UNLOGGED TABLE {levels} AS {levels_sql(profiles=loaded.profiles, pairs=loaded.pairs)}"
        )
        # (dropped at the end of the transaction at the latest, if the reader stops early)
        cursor.execute(f"CREATE TEMP TABLE {SCORED} ON COMMIT DROP AS {sql}", params)
        cursor.execute(f"DROP TABLE {levels}")
        cursor.execute("RESET parallel_setup_cost")
        cursor.execute("RESET min_parallel_table_scan_size")
    with connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT * FROM {SCORED} ORDER BY low_id, high_id")  # nosec B608 # SQL names from model metadata, values as parameters
        while rows := cursor.fetchmany(FETCH):
            for row in rows:
                adjustments = [0.0] * width
                for column, value in zip(tf_columns, row[2 + width : -2], strict=True):
                    adjustments[column] = value
                yield ScoredPair(
                    low=row[0],
                    high=row[1],
                    levels=tuple(row[2 : 2 + width]),
                    adjustments=tuple(adjustments),
                    weight=row[-2],
                    probability=row[-1],
                )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {SCORED}")


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
    with loaded(ids=ids, records=records, table=table, model=model) as tables:
        if progress is not None:
            progress("scoring pairs", 0.3)
        batch: list[ScoredPair] = []
        for pair in scored(tables, model, min_probability=threshold - THRESHOLD_SLACK):
            batch.append(pair)
            if len(batch) >= FETCH:
                likely.extend(_rescored(model, batch, threshold))
                batch = []
        likely.extend(_rescored(model, batch, threshold))
    return tables.compared, likely


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
