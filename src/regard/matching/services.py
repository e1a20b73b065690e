"""Every write of identity resolution: training, batch runs, incremental flags, decisions (C1).

Decisions go through ``customers.services.customer_merge`` / ``merge_undo``, so a merge
accepted here moves everything and can be undone exactly (invariant 5).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import task

from regard.customers import services as customer_services
from regard.customers.models import Customer, MergeRecord
from regard.errors import Conflict
from regard.matching import engine, selectors, spark_backend
from regard.matching.models import MatchCandidate, MatchKey, MatchModel, MatchRun, MatchSettings
from regard.privacy import access
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record

logger = logging.getLogger(__name__)
Actor = customer_services.Actor
Progress = Callable[[str, float], None]
# A pair's comparison levels and term-frequency adjustments, per field (what explain() reads).
Evidence = tuple[np.ndarray, np.ndarray]
DEFAULT_SEED = 7
# One new customer is scored against the customers sharing the most blocking keys with it.
INCREMENTAL_CANDIDATE_LIMIT = 100
# Rebuilding a blocking index of at least this many rows on PostgreSQL sets its index and
# foreign key aside during the COPY (a test lowers it).
BULK_KEY_ROWS = 50_000
SUPPORTED_BACKENDS = ("local", "spark")

_model_cache: dict[int, engine.Model] = {}


def _check_backend() -> None:
    backend = settings.REGARD_MATCH_BACKEND
    if backend not in SUPPORTED_BACKENDS:
        raise ImproperlyConfigured(
            f"REGARD_MATCH_BACKEND={backend!r} is not available; supported: "
            f"{', '.join(SUPPORTED_BACKENDS)} (see docs/matching.md for the scale-out path)."
        )
    if backend == "spark":
        reason = spark_backend.unavailable_reason()
        if reason is not None:
            raise ImproperlyConfigured(f"REGARD_MATCH_BACKEND='spark' cannot run here: {reason}.")
        try:
            spark_backend.parse_conf(settings.REGARD_SPARK_CONF)
        except ValueError as error:
            raise ImproperlyConfigured(str(error)) from error


def matching_settings() -> MatchSettings:
    found = MatchSettings.objects.order_by("pk").first()
    return found if found is not None else MatchSettings.objects.create()


def active_model() -> tuple[MatchModel, engine.Model] | None:
    # The parameters (with their term-frequency tables, a few hundred KB of JSON) are read
    # only when the version changed: the incremental path asks on every new customer.
    row = MatchModel.objects.order_by("-version").defer("parameters").first()
    if row is None:
        return None
    model = _model_cache.get(row.pk)
    if model is None:
        parameters = MatchModel.objects.filter(pk=row.pk).values_list("parameters", flat=True).get()
        model = engine.Model.from_json(parameters)
        _model_cache.clear()
        _model_cache[row.pk] = model
    return row, model


def _user(actor: Actor) -> Any:
    return actor if actor is not None and actor.is_authenticated else None


def match_train(
    *,
    actor: Actor,
    seed: int = DEFAULT_SEED,
    records: Sequence[dict[str, str]] | None = None,
    now: datetime | None = None,
) -> MatchModel:
    """Estimate a new model version from the stored profiles; the same data and seed give the same model."""
    _check_backend()
    now = now or timezone.now()
    if records is None:
        _, records = selectors.profiles()
    model = engine.train(records, seed=seed)
    with transaction.atomic():
        last = MatchModel.objects.select_for_update().order_by("-version").first()
        row = MatchModel.objects.create(
            version=(last.version + 1) if last else 1,
            parameters=model.to_json(),
            seed=seed,
            trained_at=now,
            trained_by=_user(actor),
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            object_type="match_model",
            object_id=row.pk,
            via="cli",
            now=now,
            detail={"version": row.version, "seed": seed},
        )
    return row


def match_run_request(*, actor: Actor, now: datetime | None = None) -> MatchRun:
    """Queue a batch run as a task (written in the same transaction as the run row)."""
    if actor is not None:  # None = the system itself (CLI, serve)
        access.require(actor, Capability.MATCH_RUN)
    now = now or timezone.now()
    with transaction.atomic():
        run = MatchRun.objects.create(requested_by=_user(actor), created_at=now)
        match_run_task.enqueue(run.pk)
    return run


def _update_run(run: MatchRun, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(run, name, value)
    MatchRun.objects.filter(pk=run.pk).update(**changes)


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


def _auto_merge(candidates: Sequence[MatchCandidate], *, threshold: float | None) -> int:
    if threshold is None:
        return 0
    merged = 0
    for candidate in sorted(candidates, key=lambda c: -c.probability):
        if candidate.probability < threshold:
            continue
        try:
            candidate_accept(candidate=candidate, actor=None, via="auto")
            merged += 1
        except Conflict:
            continue  # one side was merged in the meantime; leave it for a person
    return merged


def match_run_execute(
    *, run: MatchRun, progress: Progress | None = None, seed: int = DEFAULT_SEED
) -> MatchRun:
    """Score candidate pairs across all customers and store the likely ones (idempotent)."""
    _check_backend()

    def report(stage: str, fraction: float) -> None:
        _update_run(run, progress=round(fraction, 4))
        if progress is not None:
            progress(stage, fraction)

    _update_run(run, status=MatchRun.Status.RUNNING, started_at=timezone.now(), error="")
    try:
        report("loading profiles", 0.0)
        ids, records = selectors.profiles()
        _update_run(run, customers_seen=len(ids))
        found = active_model()
        if found is None:
            report("training a first model", 0.05)
            match_train(actor=run.requested_by, seed=seed, records=records)
            found = active_model()
        assert found is not None
        model_row, model = found
        _update_run(run, model=model_row)
        report("building the blocking index", 0.15)
        table = engine.RecordTable.build(records)
        block_index = engine.BlockIndex.from_table(table)
        _rebuild_keys(ids, block_index)
        report("blocking", 0.3)
        config = matching_settings()
        if settings.REGARD_MATCH_BACKEND == "spark":  # blocking and scoring on Spark, same engine
            conf = spark_backend.parse_conf(settings.REGARD_SPARK_CONF)
            with spark_backend.session(master=settings.REGARD_SPARK_MASTER, conf=conf) as spark:
                compared, likely = spark_backend.score_batch(
                    spark=spark,
                    ids=ids,
                    records=records,
                    model=model,
                    threshold=config.review_threshold,
                    progress=report,
                )
        else:
            compared, likely = _score_locally(
                ids=ids,
                records=records,
                table=table,
                block_index=block_index,
                model=model,
                threshold=config.review_threshold,
                report=report,
            )
        _update_run(run, pairs_compared=compared, candidates_found=len(likely))
        report("storing candidates", 0.9)
        now = timezone.now()
        with transaction.atomic():
            new = _write_batch_candidates(model_row=model_row, model=model, pairs=likely, run=run, now=now)
        merged = 0
        if config.auto_merge_threshold is not None:
            merged = _auto_merge(
                list(MatchCandidate.objects.filter(run=run)),
                threshold=config.auto_merge_threshold,
            )
        _update_run(
            run,
            candidates_new=new,
            auto_merged=merged,
            status=MatchRun.Status.DONE,
            finished_at=timezone.now(),
        )
        report("done", 1.0)
    except Exception as error:
        _update_run(run, status=MatchRun.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now())
        raise
    return run


def _score_locally(
    *,
    ids: list[int],
    records: Sequence[dict[str, str]],
    table: engine.RecordTable,
    block_index: engine.BlockIndex,
    model: engine.Model,
    threshold: float,
    report: Progress,
) -> tuple[int, list[tuple[int, int, Evidence, float, float]]]:
    """The local backend's blocking and scoring: (pairs compared, pairs at or above threshold)."""
    ia, ib = engine.block_pairs(records, index=block_index, table=table)
    id_array = np.asarray(ids, dtype=np.int64)
    likely: list[tuple[int, int, Evidence, float, float]] = []
    chunk = 500_000
    for start in range(0, len(ia), chunk):
        part_a, part_b = ia[start : start + chunk], ib[start : start + chunk]
        levels, weights, probability, adjustments = engine.score_pairs(model, table, part_a, part_b)
        keep = np.flatnonzero(probability >= threshold)
        first, second = id_array[part_a[keep]], id_array[part_b[keep]]
        likely.extend(
            zip(
                np.minimum(first, second).tolist(),
                np.maximum(first, second).tolist(),
                zip(levels[keep], adjustments[keep], strict=True),
                weights[keep].tolist(),
                probability[keep].tolist(),
                strict=True,
            )
        )
        report("scoring pairs", 0.3 + 0.6 * min(1.0, (start + chunk) / max(len(ia), 1)))
    return len(ia), likely


def match_candidates_for(customer: Customer, *, now: datetime | None = None) -> list[MatchCandidate]:
    """Score one customer against its blocks at once (C1: flagged while they are on the line).

    Does nothing until a model has been trained: customer creation must never depend on it.
    """
    found = active_model()
    if found is None or customer.merged_into_id is not None:
        return []
    model_row, model = found
    now = now or timezone.now()
    record = selectors.profile_of(customer)
    hashes = sorted(set(engine.blocking_keys(record)))
    with transaction.atomic():
        MatchKey.objects.filter(customer_id=customer.pk).delete()
        MatchKey.objects.bulk_create(MatchKey(key_hash=h, customer_id=customer.pk) for h in hashes)
    if not hashes:
        return []
    others = _customers_sharing_keys(customer.pk, hashes)
    if not others:
        return []
    other_ids, other_records = selectors.profiles(others)
    table = engine.RecordTable.build([record, *other_records])
    ib = np.arange(1, len(other_records) + 1)
    levels, weights, probability, adjustments = engine.score_pairs(
        model, table, np.zeros(len(ib), dtype=np.int64), ib
    )
    config = matching_settings()
    likely: list[tuple[int, int, Evidence, float, float]] = []
    for k in np.flatnonzero(probability >= config.review_threshold).tolist():
        low, high = sorted((customer.pk, other_ids[k]))
        likely.append((low, high, (levels[k], adjustments[k]), float(weights[k]), float(probability[k])))
    if not likely:
        return []
    with transaction.atomic():
        created = _store_candidates(
            model_row=model_row, model=model, pairs=likely, source="incremental", now=now
        )
    _auto_merge(created, threshold=config.auto_merge_threshold)
    return created


def _customers_sharing_keys(customer_id: int, hashes: Sequence[int]) -> list[int]:
    """The customers sharing most blocking keys with this one, most first, at most
    ``INCREMENTAL_CANDIDATE_LIMIT``; as in a batch run, a key held by more than
    ``engine.MAX_BLOCK`` customers is no block. Each key's rows are read up to one more than that,
    so the cost is bounded however many profiles are stored."""
    table = MatchKey._meta.db_table
    per_key = " UNION ALL ".join(
        f"SELECT {number} AS k, customer_id FROM "  # nosec B608 # SQL names from model metadata, values as parameters
        f"(SELECT customer_id FROM {table} WHERE key_hash = %s LIMIT {engine.MAX_BLOCK + 1}) AS b{number}"
        for number in range(len(hashes))
    )
    sql = (
        f"WITH hits AS ({per_key}), "  # nosec B608 # SQL names from model metadata, values as parameters
        f"blocks AS (SELECT k FROM hits GROUP BY k HAVING COUNT(*) <= {engine.MAX_BLOCK}) "
        "SELECT customer_id FROM hits WHERE k IN (SELECT k FROM blocks) AND customer_id <> %s "
        "GROUP BY customer_id ORDER BY COUNT(*) DESC, customer_id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*hashes, customer_id, INCREMENTAL_CANDIDATE_LIMIT])
        return [row[0] for row in cursor.fetchall()]


def on_customer_changed(customer_id: int) -> None:
    """Hook registered with customers: a new profile or identifier is checked for duplicates."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is not None:
        match_candidates_for(customer)


def _locked(candidate: MatchCandidate) -> MatchCandidate:
    return MatchCandidate.objects.select_for_update().get(pk=candidate.pk)


@transaction.atomic
def candidate_accept(
    *, candidate: MatchCandidate, actor: Actor, via: str = "api", now: datetime | None = None
) -> MergeRecord:
    """Same person: merge the newer profile into the older one (undoable, invariant 5)."""
    now = now or timezone.now()
    candidate = _locked(candidate)
    if candidate.status != MatchCandidate.Status.PROPOSED:
        raise Conflict(
            f"Match candidate {candidate.pk} was already {candidate.status}.",
            field="status",
            status=candidate.status,
        )
    survivor = Customer.objects.get(pk=candidate.customer_low_id)
    absorbed = Customer.objects.get(pk=candidate.customer_high_id)
    # customer_merge refuses (409) when either side was already merged away; nothing is written then.
    merge = customer_services.customer_merge(
        survivor=survivor, absorbed=absorbed, actor=actor, via=via, now=now
    )
    candidate.status = MatchCandidate.Status.ACCEPTED
    candidate.decided_by = _user(actor)
    candidate.decided_at = now
    candidate.merge = merge
    candidate.save(update_fields=["status", "decided_by", "decided_at", "merge"])
    return merge


@transaction.atomic
def candidate_reject(
    *, candidate: MatchCandidate, actor: Actor, via: str = "api", now: datetime | None = None
) -> MatchCandidate:
    """Not the same person: remembered, so the pair is never proposed again."""
    now = now or timezone.now()
    candidate = _locked(candidate)
    if candidate.status != MatchCandidate.Status.PROPOSED:
        raise Conflict(
            f"Match candidate {candidate.pk} was already {candidate.status}.",
            field="status",
            status=candidate.status,
        )
    candidate.status = MatchCandidate.Status.REJECTED
    candidate.decided_by = _user(actor)
    candidate.decided_at = now
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="match_candidate",
        object_id=candidate.pk,
        customer_id=candidate.customer_low_id,
        via=via,
        now=now,
        detail={"status": "rejected", "other": candidate.customer_high_id},
    )
    return candidate


@transaction.atomic
def candidate_merge_undo(
    *, candidate: MatchCandidate, actor: Actor, via: str = "web", now: datetime | None = None
) -> MatchCandidate:
    """Undo an accepted candidate's merge; the pair is then remembered as not the same person."""
    now = now or timezone.now()
    candidate = _locked(candidate)
    if candidate.status != MatchCandidate.Status.ACCEPTED or candidate.merge is None:
        raise Conflict(f"Match candidate {candidate.pk} has no merge to undo.", field="status")
    customer_services.merge_undo(merge=candidate.merge, actor=actor, via=via, now=now)
    candidate.status = MatchCandidate.Status.REJECTED
    candidate.decided_by = _user(actor)
    candidate.decided_at = now
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return candidate


@task()
def match_run_task(run_id: int) -> None:
    """Run one queued batch run; a retry of a finished run does nothing."""
    run = MatchRun.objects.get(pk=run_id)
    if run.status == MatchRun.Status.DONE:
        return
    match_run_execute(run=run)
