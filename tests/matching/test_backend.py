from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
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


@pytest.mark.parametrize("backend", ["dask", "", "Postgres", "Spark"])
def test_a_backend_that_is_not_built_is_refused_by_name_and_nothing_is_written(
    population: Callable[..., list[Customer]], backend: str
) -> None:
    population(20)
    _refused(backend, r"REGARD_MATCH_BACKEND=.*not available; supported: local, postgres, spark")


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


def test_the_postgres_backend_is_refused_on_another_database_naming_it_and_nothing_is_written(
    population: Callable[..., list[Customer]],
) -> None:
    if connection.vendor == "postgresql":
        pytest.skip("checks the refusal on a database that is not PostgreSQL (the SQLite pass)")
    population(20)
    database = str(connection.settings_dict["NAME"])
    _refused("postgres", rf"REGARD_MATCH_BACKEND='postgres' needs PostgreSQL.*{connection.vendor} \(")
    with override_settings(REGARD_MATCH_BACKEND="postgres"), pytest.raises(ImproperlyConfigured) as refused:
        services.match_train(actor=None)
    assert database in str(refused.value)
