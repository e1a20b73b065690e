from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from regard.customers.models import Customer
from regard.matching import services
from regard.matching.models import MatchCandidate, MatchRun


def _run() -> MatchRun:
    return services.match_run_execute(run=MatchRun.objects.create(created_at=timezone.now()))


def test_bulk_written_candidates_read_back_whole_and_are_never_written_twice(
    population: Callable[..., list[Customer]],
    jonathan: Callable[[], tuple[Customer, Customer]],
) -> None:
    # Batch candidates are written as plain rows (COPY through a scratch table on PostgreSQL).
    population(60)
    first, second = jonathan()
    run = _run()
    candidate = MatchCandidate.objects.get(customer_low=first, customer_high=second)
    assert candidate.run_id == run.pk
    assert candidate.source == "batch"
    assert candidate.model_id == run.model_id
    assert {step["field"] for step in candidate.explanation["fields"]} >= {"given_name", "email"}
    assert run.candidates_new == MatchCandidate.objects.count() >= 1

    again = _run()
    assert again.candidates_found == run.candidates_found
    assert again.candidates_new == 0
    assert MatchCandidate.objects.filter(customer_low=first, customer_high=second).count() == 1
