"""The spark backend gives what the local engine gives: Spark's blocking keys and pairs
against the engine's, and a whole batch run's candidates against the local backend's.

One local Spark (two cores) for the module; the data comes from the database under test
(SQLite or PostgreSQL), Spark only computes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from regard.matching import engine, selectors, services, spark_backend
from regard.matching.models import MatchCandidate, MatchKey, MatchRun, MatchSettings
from tests.bench import synthetic
from tests.matching.conftest import assert_same_candidates, batch_run_on


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    conf = {
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "2",
        # Small jobs on a busy machine: the JVM's quick compiler and a serial collector start sooner.
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    }
    with spark_backend.session(master="local[2]", conf=conf) as session:
        yield session


def _load(count: int, *, seed: int, postcodes: int) -> None:
    """Synthetic people with planted re-entries, moved into a few postcodes so that blocks
    are large (and one postcode block is over the limit); plain rows, no hooks."""
    rows, _, _ = synthetic.generate(count, seed=seed)
    rng = np.random.default_rng(seed)
    crowded = [dict(row, postcode=f"{10000 + int(rng.integers(postcodes))}") for row in rows]
    synthetic.load_as_customers(crowded, source="test", kinds=("email", "phone"))


def _keys() -> set[tuple[int, int]]:
    return set(MatchKey.objects.values_list("key_hash", "customer_id"))


@pytest.mark.django_db
def test_spark_computes_the_engines_blocking_keys_and_pairs_whatever_the_partitions(spark: Any) -> None:
    _load(500, seed=11, postcodes=4)
    ids, records = selectors.profiles()
    index = engine.BlockIndex.build(records)
    wanted = index.distinct_rows()
    wanted[:, 1] = np.asarray(ids, dtype=np.int64)[wanted[:, 1]]
    # Two partitions, dealt round robin: every record's keys are computed beside other records than locally.
    profiles = spark_backend.profiles_frame(spark, ids=ids, records=records)
    assert profiles.rdd.getNumPartitions() == 2
    keys = spark_backend.block_keys(profiles).cache()
    in_spark = {(int(h), int(c)) for h, c in keys.toPandas().itertuples(index=False)}
    assert in_spark == set(map(tuple, wanted.tolist()))
    assert len(in_spark) > 10 * len(ids)

    # A low block limit, so that many blocks (postcode + initial, ...) are too big and pair nobody.
    ia, ib = engine.block_pairs(records, index=index, max_block=10)
    local = set(zip(np.asarray(ids)[ia].tolist(), np.asarray(ids)[ib].tolist(), strict=True))
    pairs = spark_backend.block_pairs(keys, max_block=10).toPandas()
    assert len(pairs) == len(local) > 300
    assert {(int(a), int(b)) for a, b in pairs.itertuples(index=False)} == local
    assert len(engine.block_pairs(records, index=index)[0]) > len(local)  # the limit did cut
    keys.unpersist()


@pytest.mark.django_db
def test_a_batch_run_on_spark_stores_the_candidates_and_keys_the_local_run_stores(spark: Any) -> None:
    _load(1500, seed=5, postcodes=12)
    settings_row = services.matching_settings()
    MatchSettings.objects.filter(pk=settings_row.pk).update(review_threshold=1e-10)
    local_run, local = batch_run_on("local")  # trains the model both runs use
    local_keys = _keys()
    MatchCandidate.objects.all().delete()
    MatchKey.objects.all().delete()  # the spark run rebuilds the index too
    spark_run, on_spark = batch_run_on("spark")

    assert spark_run.status == MatchRun.Status.DONE
    assert spark_run.model_id == local_run.model_id
    assert spark_run.pairs_compared == local_run.pairs_compared > 5_000
    assert spark_run.candidates_found == local_run.candidates_found == len(local) > 300
    assert_same_candidates(local, on_spark)
    assert _keys() == local_keys
    assert len(local_keys) > 10 * spark_run.customers_seen


def test_the_spark_settings_string_is_read_as_key_value_pairs() -> None:
    assert spark_backend.parse_conf("") == {}
    assert spark_backend.parse_conf(" spark.executor.memory = 8g ;; spark.sql.shuffle.partitions=400;") == {
        "spark.executor.memory": "8g",
        "spark.sql.shuffle.partitions": "400",
    }
    assert spark_backend.parse_conf("spark.driver.extraJavaOptions=-Da=b") == {
        "spark.driver.extraJavaOptions": "-Da=b"
    }
    for malformed in ("spark.executor.memory", "=8g", "a=1;b"):
        with pytest.raises(ValueError, match="REGARD_SPARK_CONF"):
            spark_backend.parse_conf(malformed)
