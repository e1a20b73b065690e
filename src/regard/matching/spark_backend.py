"""The ``spark`` matching backend: a batch run's blocking, comparison and scoring on Spark.

Spark runs the engine's own code, so the pairs and their scores are the local backend's
by construction. Every step below depends on one record or one pair only, which is what
lets Spark cut the work anywhere:

* keys: each partition of the profiles builds a ``RecordTable`` and ``BlockIndex`` and
  emits (key hash, customer); a record's key hashes do not depend on the other records
  of its table (the hashes are per value, ``engine.blocking_keys`` is the one-record case);
* blocking: a Spark self-join of the keys on the hash, keys held by more than
  ``engine.MAX_BLOCK`` customers left out (as ``engine.block_pairs``), each pair once;
* comparison and scoring: each batch of pairs becomes a ``RecordTable`` of its left then
  right records and goes through ``engine.score_pairs`` with the model (broadcast as its
  JSON); a pair's levels and term-frequency adjustments do not depend on the other pairs
  of the batch (the engine compares distinct value pairs, and the adjustments are per value).

Only the pairs at or above the review threshold come back to the driver, where they are
weighed again with ``Model.score``, so the stored numbers are the local ones to the
last bit. PySpark is imported inside the functions only: the web process never loads it.
``tests/matching/test_spark_backend.py`` holds the backend to the local engine.

No Django here: Spark's Python workers import this module and the engine only.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from regard.matching import engine

# Executors sum the weights as the driver does, but a pair a hair below the threshold on
# one side must not be lost: they send back pairs this close, the driver decides.
THRESHOLD_SLACK = 1e-9
APP_NAME = "regard-match"

Likely = tuple[int, int, tuple[np.ndarray, np.ndarray], float, float]
Progress = Callable[[str, float], None]


def parse_conf(text: str) -> dict[str, str]:
    """``key=value;key=value`` (REGARD_SPARK_CONF) as a dict; a malformed entry raises ValueError."""
    conf: dict[str, str] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"REGARD_SPARK_CONF entry {item.strip()!r} is not key=value")
        conf[key.strip()] = value.strip()
    return conf


def unavailable_reason() -> str | None:
    """Why this process cannot start Spark (no PySpark, no Java), or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed; install the `spark` extra (pip install 'regard[spark]')"
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        return "Spark needs Java 17 or later: no `java` on PATH and JAVA_HOME is not set"
    return None


@contextmanager
def session(*, master: str, conf: dict[str, str]) -> Iterator[Any]:
    """The running SparkSession if there is one (left running), else a new one stopped at the end."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    builder = SparkSession.builder.master(master).appName(APP_NAME)
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **conf,
    }
    # PySpark starts its Python workers with PYSPARK_PYTHON (else a bare `python3`): by
    # default this interpreter, which has regard and its engine; the same path on the nodes.
    os.environ.setdefault("PYSPARK_PYTHON", settings.get("spark.pyspark.python", sys.executable))
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # one INFO line per closed connection
    try:
        yield spark
    finally:
        spark.stop()


# ------------------------------------------------------------------ executor side


def _records(frame: Any, prefix: str = "") -> list[dict[str, str]]:
    columns = [frame[prefix + name].tolist() for name in engine.FIELDS]
    return [dict(zip(engine.FIELDS, values, strict=True)) for values in zip(*columns, strict=True)]


def _keys_of(batches: Iterator[Any]) -> Iterator[Any]:
    """(key hash, customer) rows of each batch of profiles, each once."""
    import pandas as pd

    for frame in batches:
        if not len(frame):
            continue
        table = engine.RecordTable.build(_records(frame))
        rows = engine.BlockIndex.from_table(table).distinct_rows()
        customers = frame["customer_id"].to_numpy(dtype=np.int64)
        yield pd.DataFrame({"key_hash": rows[:, 0], "customer_id": customers[rows[:, 1]]})


def _scorer(model_json: Any, min_probability: float) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """The function each executor maps over batches of (left, right) record pairs."""

    def score(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        model = engine.Model.from_json(model_json.value)
        for frame in batches:
            count = len(frame)
            if not count:
                continue
            # Left records then right records: pair k is (k, count + k), the lower id first as locally.
            table = engine.RecordTable.build(_records(frame, "a_") + _records(frame, "b_"))
            ia = np.arange(count, dtype=np.int64)
            levels, weights, probability, adjustments = engine.score_pairs(model, table, ia, ia + count)
            keep = np.flatnonzero(probability >= min_probability)
            out: dict[str, Any] = {
                "low": frame["low"].to_numpy(dtype=np.int64)[keep],
                "high": frame["high"].to_numpy(dtype=np.int64)[keep],
            }
            for column in range(len(engine.FIELDS)):
                out[f"level_{column}"] = levels[keep, column].astype(np.int8)
            for column in range(len(engine.FIELDS)):
                out[f"tf_{column}"] = adjustments[keep, column].astype(np.float64)
            out["weight"] = weights[keep]
            out["probability"] = probability[keep]
            yield pd.DataFrame(out)

    return score


# ------------------------------------------------------------------ driver side


def profiles_frame(spark: Any, *, ids: Sequence[int], records: Sequence[dict[str, str]]) -> Any:
    """The profiles as a DataFrame: customer_id and the engine's fields as strings."""
    import pandas as pd
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    schema = StructType(
        [StructField("customer_id", LongType(), False)]
        + [StructField(name, StringType(), False) for name in engine.FIELDS]
    )
    data: dict[str, Any] = {"customer_id": np.asarray(ids, dtype=np.int64)}
    data.update({name: [record[name] for record in records] for name in engine.FIELDS})
    frame = spark.createDataFrame(pd.DataFrame(data, columns=schema.fieldNames()), schema)
    return frame.repartition(spark.sparkContext.defaultParallelism)


def block_keys(profiles: Any) -> Any:
    """(key_hash, customer_id): every customer's blocking keys, computed per partition."""
    return profiles.mapInPandas(_keys_of, "key_hash long, customer_id long")


def block_pairs(keys: Any, *, max_block: int = engine.MAX_BLOCK) -> Any:
    """(low, high) customer pairs sharing a key held by at most ``max_block`` customers, each once."""
    from pyspark.sql import functions as F

    sizes = keys.groupBy("key_hash").agg(F.count("*").alias("holders"))
    blocks = keys.join(sizes.where(F.col("holders") <= max_block).select("key_hash"), "key_hash")
    left = blocks.select("key_hash", F.col("customer_id").alias("low"))
    right = blocks.select("key_hash", F.col("customer_id").alias("high"))
    return left.join(right, "key_hash").where(F.col("low") < F.col("high")).select("low", "high").distinct()


def scored_pairs(
    spark: Any, *, profiles: Any, pairs: Any, model: engine.Model, min_probability: float
) -> Any:
    """The pairs at or above ``min_probability``: ids, levels and adjustments per field, weight, probability."""
    from pyspark.sql import functions as F

    def side(prefix: str, key: str) -> Any:
        return profiles.select(
            F.col("customer_id").alias(key), *[F.col(name).alias(prefix + name) for name in engine.FIELDS]
        )

    joined = pairs.join(side("a_", "low"), "low").join(side("b_", "high"), "high")
    columns = ["low long", "high long"]
    columns += [f"level_{c} tinyint" for c in range(len(engine.FIELDS))]
    columns += [f"tf_{c} double" for c in range(len(engine.FIELDS))]
    columns += ["weight double", "probability double"]
    model_json = spark.sparkContext.broadcast(model.to_json())
    return joined.mapInPandas(_scorer(model_json, min_probability), ", ".join(columns))


def score_batch(
    *,
    spark: Any,
    ids: Sequence[int],
    records: Sequence[dict[str, str]],
    model: engine.Model,
    threshold: float,
    progress: Progress | None = None,
) -> tuple[int, list[Likely]]:
    """(pairs compared, the pairs at or above ``threshold`` as services stores them, by pair)."""
    profiles = profiles_frame(spark, ids=ids, records=records).cache()
    try:
        pairs = block_pairs(block_keys(profiles)).cache()
        compared = pairs.count()
        if progress is not None:
            progress("scoring pairs", 0.5)
        found = scored_pairs(
            spark, profiles=profiles, pairs=pairs, model=model, min_probability=threshold - THRESHOLD_SLACK
        ).toPandas()
        pairs.unpersist()
    finally:
        profiles.unpersist()
    found = found.sort_values(["low", "high"], kind="stable")
    fields = range(len(engine.FIELDS))
    levels = found[[f"level_{c}" for c in fields]].to_numpy(dtype=np.int8).reshape(-1, len(engine.FIELDS))
    adjustments = (
        found[[f"tf_{c}" for c in fields]].to_numpy(dtype=np.float64).reshape(-1, len(engine.FIELDS))
    )
    weights, probability = model.score(levels, adjustments)
    low, high = found["low"].to_numpy(dtype=np.int64), found["high"].to_numpy(dtype=np.int64)
    likely: list[Likely] = [
        (int(low[k]), int(high[k]), (levels[k], adjustments[k]), float(weights[k]), float(probability[k]))
        for k in np.flatnonzero(probability >= threshold).tolist()
    ]
    return compared, likely
