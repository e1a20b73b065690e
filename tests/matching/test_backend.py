from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import timezone

from regard.customers.models import Customer
from regard.matching import services
from regard.matching.models import MatchCandidate, MatchKey, MatchModel, MatchRun


def _refused(backend: str, message: str) -> None:
    run = MatchRun.objects.create(created_at=timezone.now())
    with override_settings(REGARD_MATCH_BACKEND=backend):
        with pytest.raises(ImproperlyConfigured, match=message):
            services.match_train(actor=None)
        with pytest.raises(ImproperlyConfigured, match=message):
            services.match_run_execute(run=run)
    run.refresh_from_db()
    assert run.status == MatchRun.Status.QUEUED
    assert not MatchModel.objects.exists()
    assert not MatchKey.objects.exists()
    assert not MatchCandidate.objects.exists()


@pytest.mark.parametrize("backend", ["dask", "", "postgres", "Spark"])
def test_a_backend_that_is_not_built_is_refused_by_name_and_nothing_is_written(
    population: Callable[..., list[Customer]], backend: str
) -> None:
    population(20)
    _refused(backend, r"REGARD_MATCH_BACKEND=.*not available; supported: local, spark")


def test_the_spark_backend_without_pyspark_is_refused_naming_the_extra_and_nothing_is_written(
    population: Callable[..., list[Customer]], monkeypatch: pytest.MonkeyPatch
) -> None:
    population(20)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if not installed: no spec, no import
    _refused(
        "spark",
        r"REGARD_MATCH_BACKEND='spark' cannot run here: PySpark is not installed; install the `spark` extra",
    )


def test_the_spark_backend_with_a_malformed_conf_is_refused_naming_it_and_nothing_is_written(
    population: Callable[..., list[Customer]],
) -> None:
    population(20)
    with override_settings(REGARD_SPARK_CONF="spark.executor.memory=8g;spark.cores.max"):
        _refused("spark", r"REGARD_SPARK_CONF entry 'spark.cores.max' is not key=value")


def _similarity_functions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname FROM pg_proc WHERE proname IN ('regard_jaro_winkler', 'regard_osa')")
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db
def test_the_postgres_backends_similarity_functions_are_dropped_and_come_back_when_unapplied() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the functions only ever existed on PostgreSQL; elsewhere the migration does nothing")
    assert _similarity_functions() == set()
    executor = MigrationExecutor(connection)
    executor.migrate([("matching", "0002_similarity_functions")])
    assert _similarity_functions() == {"regard_jaro_winkler", "regard_osa"}
    executor = MigrationExecutor(connection)
    executor.migrate([("matching", "0003_drop_similarity_functions")])
    assert _similarity_functions() == set()
