from __future__ import annotations

from collections.abc import Callable

import pytest
from django_tasks_db.models import DBTaskResult

from regard.customers.models import Customer, MergeRecord
from regard.customers.services import customer_merge
from regard.matching import services
from regard.matching.models import MatchCandidate, MatchRun
from regard.privacy.roles import Role
from tests.conftest import ApiClient


@pytest.fixture
def candidate(
    population: Callable[..., list[Customer]], jonathan: Callable[[], tuple[Customer, Customer]]
) -> MatchCandidate:
    population(60)
    first, second = jonathan()
    services.match_run_execute(run=MatchRun.objects.create(created_at=first.created_at))
    return MatchCandidate.objects.get(customer_low=first, customer_high=second)


def test_list_is_paginated_best_first_and_filtered(candidate: MatchCandidate, agent_api: ApiClient) -> None:
    response = agent_api.get("match-candidates", min_probability=0.5, status="proposed", limit=1)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] >= 1
    first = body["items"][0]
    assert first["probability"] >= 0.5
    assert {"prior_weight", "fields"} <= set(first["explanation"])
    assert agent_api.get("match-candidates", status="maybe").status_code == 422


def test_accept_merges_and_reject_is_remembered(candidate: MatchCandidate, agent_api: ApiClient) -> None:
    response = agent_api.post(f"match-candidates/{candidate.pk}/accept")
    assert response.status_code == 200, response.content
    assert response.json()["candidate"]["status"] == "accepted"
    merge = MergeRecord.objects.get(pk=response.json()["merge_id"])
    assert (merge.survivor_id, merge.absorbed_id) == (candidate.customer_low_id, candidate.customer_high_id)
    again = agent_api.post(f"match-candidates/{candidate.pk}/reject")
    assert again.status_code == 409
    candidate.refresh_from_db()
    assert candidate.status == "accepted"


def test_unknown_candidate_is_404(db: None, agent_api: ApiClient) -> None:
    for action in ("accept", "reject"):
        response = agent_api.post(f"match-candidates/999999/{action}")
        assert response.status_code == 404
        assert "999999" in response.json()["detail"]


def test_candidate_whose_customer_was_already_merged_is_409_and_changes_nothing(
    candidate: MatchCandidate, agent_api: ApiClient, population: Callable[..., list[Customer]]
) -> None:
    elsewhere = Customer.objects.exclude(
        pk__in=[candidate.customer_low_id, candidate.customer_high_id]
    ).first()
    assert elsewhere is not None
    customer_merge(survivor=elsewhere, absorbed=candidate.customer_high, actor=None)
    merges_before = MergeRecord.objects.count()
    response = agent_api.post(f"match-candidates/{candidate.pk}/accept")
    assert response.status_code == 409
    assert "already merged" in response.json()["detail"]
    candidate.refresh_from_db()
    assert candidate.status == "proposed"
    assert MergeRecord.objects.count() == merges_before
    assert Customer.objects.get(pk=candidate.customer_low_id).merged_into_id is None


def test_start_run_enqueues_a_task_and_reports_progress(db: None, admin_api: ApiClient) -> None:
    response = admin_api.post("match/run")
    assert response.status_code == 202
    run_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    assert DBTaskResult.objects.filter(args_kwargs__args=[run_id]).exists()
    services.match_run_execute(run=MatchRun.objects.get(pk=run_id))
    report = admin_api.get(f"match/runs/{run_id}")
    assert report.status_code == 200
    assert report.json()["status"] == "done"
    assert report.json()["progress"] == 1.0
    assert admin_api.get("match/runs/424242").status_code == 404


@pytest.mark.parametrize(
    ("role", "method", "path", "expected"),
    [
        (Role.MARKETER, "get", "match-candidates", 403),
        (Role.ANALYST, "post", "match-candidates/1/accept", 403),
        (Role.MARKETER, "post", "match-candidates/1/reject", 403),
        (Role.AGENT, "post", "match/run", 403),
        (Role.MARKETER, "get", "match/runs/1", 403),
        (Role.AGENT, "get", "match-candidates", 200),
        (Role.ADMIN, "get", "match-candidates", 200),
    ],
)
def test_role_checks(
    api_for: Callable[..., ApiClient], role: Role, method: str, path: str, expected: int
) -> None:
    client = api_for(role)
    response = getattr(client, method)(path)
    assert response.status_code == expected


def test_anonymous_gets_401_and_the_page_redirects(anonymous_api: ApiClient, client: object) -> None:
    assert anonymous_api.get("match-candidates").status_code == 401
    assert anonymous_api.post("match/run").status_code == 401
    assert client.get("/matching/").status_code == 302  # type: ignore[attr-defined]


def test_marketer_cannot_open_the_review_queue(make_user: Callable[..., object], client: object) -> None:
    client.force_login(make_user(Role.MARKETER))  # type: ignore[attr-defined]
    assert client.get("/matching/").status_code == 403  # type: ignore[attr-defined]


def test_match_command_runs_with_a_summary(population: Callable[..., list[Customer]]) -> None:
    from io import StringIO

    from django.core.management import call_command

    population(30)
    out = StringIO()
    call_command("match", "train", "--seed", "5", stdout=out)
    assert "trained match model v1 (seed 5)" in out.getvalue()
    call_command("match", "run", "--quiet", stdout=out)
    assert "30 customers" in out.getvalue()
