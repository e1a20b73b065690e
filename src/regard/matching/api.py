"""Match candidates and batch runs over HTTP (C1, C8). Thin: services decide."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Query, Router, Schema, Status

from regard.api.auth import ApiRequest, requires
from regard.errors import InvalidInput
from regard.inputs import OFFSET_MAX
from regard.matching import selectors, services
from regard.matching.models import MatchCandidate, MatchRun
from regard.privacy.roles import Capability

candidates_router = Router(tags=["matching"])
runs_router = Router(tags=["matching"])


class CandidateOut(Schema):
    id: int
    customer_ids: list[int]
    probability: float
    match_weight: float
    explanation: dict[str, Any]
    status: str
    source: str
    model_version: int | None
    created_at: datetime
    decided_at: datetime | None
    merge_id: int | None

    @staticmethod
    def from_model(candidate: MatchCandidate) -> CandidateOut:
        return CandidateOut(
            id=candidate.pk,
            customer_ids=[candidate.customer_low_id, candidate.customer_high_id],
            probability=candidate.probability,
            match_weight=candidate.match_weight,
            explanation=candidate.explanation,
            status=candidate.status,
            source=candidate.source,
            model_version=candidate.model.version if candidate.model else None,
            created_at=candidate.created_at,
            decided_at=candidate.decided_at,
            merge_id=candidate.merge_id,
        )


class CandidatePage(Schema):
    items: list[CandidateOut]
    count: int
    next_offset: int | None


class DecisionOut(Schema):
    candidate: CandidateOut
    merge_id: int | None


class RunOut(Schema):
    id: int
    status: str
    progress: float
    customers_seen: int
    pairs_compared: int
    candidates_found: int
    candidates_new: int
    auto_merged: int
    model_version: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str

    @staticmethod
    def from_model(run: MatchRun) -> RunOut:
        return RunOut(
            id=run.pk,
            status=run.status,
            progress=run.progress,
            customers_seen=run.customers_seen,
            pairs_compared=run.pairs_compared,
            candidates_found=run.candidates_found,
            candidates_new=run.candidates_new,
            auto_merged=run.auto_merged,
            model_version=run.model.version if run.model else None,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            error=run.error,
        )


@candidates_router.get(
    "",
    auth=requires(Capability.MATCH_REVIEW),
    response=CandidatePage,
    summary="Likely duplicates, best first",
)
def list_candidates(
    request: ApiRequest,
    min_probability: float = Query(0.0, ge=0.0, le=1.0),
    status: str | None = MatchCandidate.Status.PROPOSED,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=OFFSET_MAX),
) -> CandidatePage:
    if status and status not in MatchCandidate.Status.values:
        allowed = ", ".join(MatchCandidate.Status.values)
        raise InvalidInput(f"status: '{status}' is not one of {allowed}.", field="status")
    queue = selectors.candidate_queue(actor=request.auth, status=status, min_probability=min_probability)
    count = queue.count()
    page = list(queue.select_related("model")[offset : offset + limit])
    return CandidatePage(
        items=[CandidateOut.from_model(c) for c in page],
        count=count,
        next_offset=offset + limit if offset + limit < count else None,
    )


@candidates_router.post(
    "/{candidate_id}/accept",
    auth=requires(Capability.MATCH_REVIEW),
    response=DecisionOut,
    summary="Same person: merge them",
)
def accept_candidate(request: ApiRequest, candidate_id: int) -> DecisionOut:
    candidate = selectors.candidate_get(actor=request.auth, candidate_id=candidate_id)
    merge = services.candidate_accept(candidate=candidate, actor=request.auth)
    candidate.refresh_from_db()
    return DecisionOut(candidate=CandidateOut.from_model(candidate), merge_id=merge.pk)


@candidates_router.post(
    "/{candidate_id}/reject",
    auth=requires(Capability.MATCH_REVIEW),
    response=DecisionOut,
    summary="Not the same person",
)
def reject_candidate(request: ApiRequest, candidate_id: int) -> DecisionOut:
    candidate = selectors.candidate_get(actor=request.auth, candidate_id=candidate_id)
    candidate = services.candidate_reject(candidate=candidate, actor=request.auth)
    return DecisionOut(candidate=CandidateOut.from_model(candidate), merge_id=None)


@runs_router.post(
    "/run",
    auth=requires(Capability.MATCH_RUN),
    response={202: RunOut},
    summary="Start a batch run (as a background task)",
)
def start_run(request: ApiRequest) -> Status[RunOut]:
    run = services.match_run_request(actor=request.auth)
    return Status(202, RunOut.from_model(run))


@runs_router.get(
    "/runs/{run_id}",
    auth=requires(Capability.MATCH_REVIEW),
    response=RunOut,
    summary="Progress and counts of a batch run",
)
def get_run(request: ApiRequest, run_id: int) -> RunOut:
    return RunOut.from_model(selectors.run_get(actor=request.auth, run_id=run_id))
