from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from regard.customers.models import Customer
from regard.matching import services
from regard.matching.models import MatchCandidate, MatchKey, MatchModel, MatchRun


@pytest.mark.parametrize("backend", ["postgres", "spark", ""])
def test_a_backend_that_is_not_built_is_refused_by_name_and_nothing_is_written(
    population: Callable[..., list[Customer]], backend: str
) -> None:
    population(20)
    run = MatchRun.objects.create(created_at=timezone.now())
    with override_settings(REGARD_MATCH_BACKEND=backend):
        with pytest.raises(ImproperlyConfigured, match=r"REGARD_MATCH_BACKEND.*supported: local"):
            services.match_train(actor=None)
        with pytest.raises(ImproperlyConfigured, match="REGARD_MATCH_BACKEND"):
            services.match_run_execute(run=run)
    run.refresh_from_db()
    assert run.status == MatchRun.Status.QUEUED
    assert not MatchModel.objects.exists()
    assert not MatchKey.objects.exists()
    assert not MatchCandidate.objects.exists()
