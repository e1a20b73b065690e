"""Batch runs: queued as a task, then every blocked pair scored and the likely ones stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from regard.matching import engine, selectors, spark_backend
from regard.matching.models import MatchCandidate, MatchRun
from regard.matching.services.actors import Actor, _user
from regard.matching.services.blocking_index import _rebuild_keys
from regard.matching.services.candidates import Evidence, _write_batch_candidates
from regard.matching.services.review import _auto_merge, matching_settings
from regard.matching.services.training import DEFAULT_SEED, _check_backend, active_model, match_train
from regard.privacy import access
from regard.privacy.roles import Capability

Progress = Callable[[str, float], None]


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


@task()
def match_run_task(run_id: int) -> None:
    """Run one queued batch run; a retry of a finished run does nothing."""
    run = MatchRun.objects.get(pk=run_id)
    if run.status == MatchRun.Status.DONE:
        return
    match_run_execute(run=run)
