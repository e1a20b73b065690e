"""Every write of identity resolution: training, batch runs, incremental flags, decisions (C1).

Decisions go through ``customers.services.customer_merge`` / ``merge_undo``, so a merge
accepted here moves everything and can be undone exactly (invariant 5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from regard.customers import services as customer_services
from regard.customers.models import Customer, MergeRecord
from regard.errors import Conflict
from regard.matching import engine, selectors
from regard.matching.models import MatchCandidate, MatchKey, MatchModel, MatchRun, MatchSettings
from regard.privacy import access
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record

logger = logging.getLogger(__name__)
Actor = customer_services.Actor
Progress = Callable[[str, float], None]
DEFAULT_SEED = 7
INCREMENTAL_CANDIDATE_LIMIT = 300
SUPPORTED_BACKENDS = ("local",)

_model_cache: dict[int, engine.Model] = {}


def _check_backend() -> None:
    backend = settings.REGARD_MATCH_BACKEND
    if backend not in SUPPORTED_BACKENDS:
        raise ImproperlyConfigured(
            f"REGARD_MATCH_BACKEND={backend!r} is not available; supported: "
            f"{', '.join(SUPPORTED_BACKENDS)} (see docs/matching.md for the scale-out path)."
        )


def matching_settings() -> MatchSettings:
    found = MatchSettings.objects.order_by("pk").first()
    return found if found is not None else MatchSettings.objects.create()


def active_model() -> tuple[MatchModel, engine.Model] | None:
    row = MatchModel.objects.order_by("-version").first()
    if row is None:
        return None
    model = _model_cache.get(row.pk)
    if model is None:
        model = engine.Model.from_json(row.parameters)
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
    from regard.matching.tasks import match_run_task

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


def _as_pairs(rows: np.ndarray) -> np.ndarray:
    """(n, 2) int64 rows as one structured column, so numpy set operations work on whole rows."""
    return (
        np.ascontiguousarray(rows, dtype=np.int64).view([("key", np.int64), ("customer", np.int64)]).ravel()
    )


def _rebuild_keys(ids: list[int], index: engine.BlockIndex) -> None:
    """Bring the blocking index (MatchKey) in line with the keys of the current profiles.

    The incremental path keeps the index nearly current, so only the difference is
    written; PostgreSQL takes new rows through COPY.
    """
    wanted = index.distinct_rows()
    if len(wanted):
        wanted[:, 1] = np.asarray(ids, dtype=np.int64)[wanted[:, 1]]
    table = MatchKey._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT key_hash, customer_id FROM {table}")
        existing = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
        stale = existing[~np.isin(_as_pairs(existing), _as_pairs(wanted))]
        if len(stale) * 2 > len(existing):  # mostly new: clearing is cheaper than row deletes
            cursor.execute(f"DELETE FROM {table}")
            fresh = wanted
        else:
            if len(stale):
                cursor.executemany(
                    f"DELETE FROM {table} WHERE key_hash = %s AND customer_id = %s", stale.tolist()
                )
            fresh = wanted[~np.isin(_as_pairs(wanted), _as_pairs(existing))]
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} (key_hash, customer_id) FROM STDIN") as copy:
                for key_hash, customer_id in fresh.tolist():
                    copy.write_row((key_hash, customer_id))
            return
        sql = f"INSERT INTO {table} (key_hash, customer_id) VALUES (%s, %s)"
        for start in range(0, len(fresh), 50_000):
            cursor.executemany(sql, fresh[start : start + 50_000].tolist())


def _existing_pairs() -> set[tuple[int, int]]:
    return set(
        MatchCandidate.objects.order_by()  # a set: no need for the queue's ordering
        .values_list("customer_low_id", "customer_high_id")
        .iterator(chunk_size=50_000)
    )


def _store_candidates(
    *,
    model_row: MatchModel,
    model: engine.Model,
    pairs: list[tuple[int, int, np.ndarray, float, float]],
    run: MatchRun | None,
    source: str,
    now: datetime,
) -> list[MatchCandidate]:
    """New rows for pairs never seen before; a decided (or proposed) pair is left alone."""
    wanted = {(low, high) for low, high, *_ in pairs}
    if len(wanted) > 1000:
        existing = _existing_pairs() & wanted
    else:
        existing = set()
        for low, high in (
            MatchCandidate.objects.filter(
                customer_low_id__in={p[0] for p in wanted}, customer_high_id__in={p[1] for p in wanted}
            )
            .order_by()
            .values_list("customer_low_id", "customer_high_id")
        ):
            existing.add((low, high))
    rows = [
        MatchCandidate(
            customer_low_id=low,
            customer_high_id=high,
            probability=probability,
            match_weight=weight,
            explanation=model.explain(levels),
            model=model_row,
            run=run,
            source=source,
            created_at=now,
        )
        for low, high, levels, weight, probability in pairs
        if (low, high) not in existing
    ]
    created = MatchCandidate.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    if connection.features.can_return_rows_from_bulk_insert and all(r.pk for r in created):
        return created
    # ignore_conflicts leaves primary keys unset on some backends: read the rows back, by
    # run (indexed) or by the few customers of an incremental check, then by pair.
    inserted = {(r.customer_low_id, r.customer_high_id) for r in rows}
    if not inserted:
        return []
    written = MatchCandidate.objects.filter(created_at=now, source=source)
    if run is not None:
        written = written.filter(run=run)
    else:
        written = written.filter(customer_low_id__in={low for low, _ in inserted})
    return [r for r in written.order_by("id") if (r.customer_low_id, r.customer_high_id) in inserted]


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
        block_index = engine.BlockIndex.build(records)
        _rebuild_keys(ids, block_index)
        report("blocking", 0.3)
        ia, ib = engine.block_pairs(records, index=block_index)
        table = engine.RecordTable.build(records)
        config = matching_settings()
        id_array = np.asarray(ids, dtype=np.int64)
        likely: list[tuple[int, int, np.ndarray, float, float]] = []
        chunk = 250_000
        for start in range(0, len(ia), chunk):
            part_a, part_b = ia[start : start + chunk], ib[start : start + chunk]
            levels, weights, probability = engine.score_pairs(model, table, part_a, part_b)
            keep = np.flatnonzero(probability >= config.review_threshold)
            for k in keep.tolist():
                low, high = sorted((int(id_array[part_a[k]]), int(id_array[part_b[k]])))
                likely.append((low, high, levels[k], float(weights[k]), float(probability[k])))
            report("scoring pairs", 0.3 + 0.6 * min(1.0, (start + chunk) / max(len(ia), 1)))
        _update_run(run, pairs_compared=len(ia), candidates_found=len(likely))
        report("storing candidates", 0.9)
        with transaction.atomic():
            created = _store_candidates(
                model_row=model_row, model=model, pairs=likely, run=run, source="batch", now=timezone.now()
            )
        merged = _auto_merge(created, threshold=config.auto_merge_threshold)
        _update_run(
            run,
            candidates_new=len(created),
            auto_merged=merged,
            status=MatchRun.Status.DONE,
            finished_at=timezone.now(),
        )
        report("done", 1.0)
    except Exception as error:
        _update_run(run, status=MatchRun.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now())
        raise
    return run


def match_candidates_for(customer: Customer, *, now: datetime | None = None) -> list[MatchCandidate]:
    """Score one customer against its blocks at once (C1: flagged while they are on the line).

    Does nothing until a model has been trained: customer creation must never depend on it.
    """
    found = active_model()
    if found is None or customer.merged_into_id is not None:
        return []
    model_row, model = found
    now = now or timezone.now()
    _, [record] = selectors.profiles([customer.pk])
    hashes = sorted({engine.key_hash(k) for k in engine.blocking_keys(record)})
    with transaction.atomic():
        MatchKey.objects.filter(customer_id=customer.pk).delete()
        MatchKey.objects.bulk_create(MatchKey(key_hash=h, customer_id=customer.pk) for h in hashes)
    if not hashes:
        return []
    others = list(
        MatchKey.objects.filter(key_hash__in=hashes)
        .exclude(customer_id=customer.pk)
        .values_list("customer_id", flat=True)
        .distinct()[:INCREMENTAL_CANDIDATE_LIMIT]
    )
    if not others:
        return []
    other_ids, other_records = selectors.profiles(others)
    table = engine.RecordTable.build([record, *other_records])
    ib = np.arange(1, len(other_records) + 1)
    levels, weights, probability = engine.score_pairs(model, table, np.zeros(len(ib), dtype=np.int64), ib)
    config = matching_settings()
    likely = []
    for k in np.flatnonzero(probability >= config.review_threshold).tolist():
        low, high = sorted((customer.pk, other_ids[k]))
        likely.append((low, high, levels[k], float(weights[k]), float(probability[k])))
    if not likely:
        return []
    with transaction.atomic():
        created = _store_candidates(
            model_row=model_row, model=model, pairs=likely, run=None, source="incremental", now=now
        )
    _auto_merge(created, threshold=config.auto_merge_threshold)
    return created


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
