"""The spark matching backend beside the local one on one synthetic set, in one process.

    .venv/bin/python -m tests.bench.bench_spark [--count 20000] [--master local[2]]

Times the span the backends differ in (blocking, comparison and scoring of a batch run,
from the loaded profiles to the likely pairs) for each, Spark's start-up apart and Spark
twice (a new session's first run, then a warm one's); the
profiles, the model (trained once) and the review threshold (0.8) are the same. Checks
that both find the same pairs with the same probabilities.
"""

from __future__ import annotations

import argparse
import os
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regard.config.settings")
    django.setup()
    from regard.matching import engine, services, spark_backend
    from tests.bench import synthetic

    rows, _, _ = synthetic.generate(args.count, seed=args.seed)
    records = [engine.profile(**{k: v for k, v in row.items() if k != "rec_id"}) for row in rows]
    ids = list(range(1, len(records) + 1))
    model = engine.train(records, seed=args.seed)
    threshold = 0.8

    started = time.perf_counter()
    table = engine.RecordTable.build(records)
    compared, local = services._score_locally(
        ids=ids,
        records=records,
        table=table,
        block_index=engine.BlockIndex.from_table(table),
        model=model,
        threshold=threshold,
        report=lambda stage, fraction: None,
    )
    local_seconds = time.perf_counter() - started

    started = time.perf_counter()
    conf = {"spark.sql.shuffle.partitions": "4"}
    with spark_backend.session(master=args.master, conf=conf) as spark:
        start_seconds = time.perf_counter() - started
        spark_seconds = []
        for _ in range(2):  # a first run in a new session, then one in a warm session (a worker's)
            started = time.perf_counter()
            on_spark_compared, on_spark = spark_backend.score_batch(
                spark=spark, ids=ids, records=records, model=model, threshold=threshold
            )
            spark_seconds.append(time.perf_counter() - started)

    same_pairs = {(a, b) for a, b, *_ in local} == {(a, b) for a, b, *_ in on_spark}
    largest = max(
        (abs(x[4] - y[4]) for x, y in zip(sorted(local), sorted(on_spark), strict=True)), default=0.0
    )
    print(f"customers {len(records):,}, load average {os.getloadavg()[0]:.1f}")
    print("| backend | blocking + comparison + scoring | pairs compared | likely pairs |")
    print("|---|---|---|---|")
    print(f"| local | {local_seconds:.2f} s | {compared:,} | {len(local):,} |")
    print(
        f"| spark ({args.master}) | first run {spark_seconds[0]:.2f} s (+ {start_seconds:.1f} s to start "
        f"Spark), second run {spark_seconds[1]:.2f} s "
        f"| {on_spark_compared:,} | {len(on_spark):,} |"
    )
    print(f"same pairs: {same_pairs}; largest probability difference: {largest:.3g}")


if __name__ == "__main__":
    main()
