"""`make bench-match`: identity resolution accuracy and speed, beside Splink and recordlinkage.

Accuracy: FEBRL3 (dedupe, 5,000 records) and FEBRL4 (two files of 5,000) from
``recordlinkage.datasets``, loaded as Regard customers into a fresh embedded database,
trained and run through ``regard.matching.services`` and read back from MatchCandidate,
with and without ``soc_sec_id`` (stored as an ``external`` identifier; since identifiers
are unique, a second record with the same number is an exact-identifier match, which
Regard resolves without the model, and counts as predicted with probability 1).
Beside it, in the same process: Splink 5 + DuckDB with the settings of its FEBRL
examples, and a recordlinkage baseline (blocking + Jaro–Winkler + ECM).

Speed: 1,000,000 × scale synthetic customers with realistic corruption (seeded):
Regard's train + batch run against Splink's on the same records, pairs/s and wall time,
F1 on the synthetic truth; then the p95 time of the incremental path for one new
customer against the stored profiles.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench import synthetic

DEFAULT_THRESHOLD = 0.8  # Regard's default review threshold (MatchSettings.review_threshold)
SPLINK_THRESHOLD = 0.9  # the threshold the Splink figures in STACK-NOTES were measured at


def _setup_django() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="regard-bench-match-"))
    os.environ["REGARD_DATA_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    server = os.environ.get("BENCH_MATCH_PG")  # e.g. postgres://postgres@127.0.0.1:5432
    if server:  # a fresh PostgreSQL database instead (customers loaded with COPY)
        import psycopg

        name = os.environ.get("BENCH_MATCH_DB", "regard_bench_match")  # dropped and created anew

        if not os.environ.get("BENCH_MATCH_REUSE"):  # set: the database a scale run left, kept
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = f"{server}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regard.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# ------------------------------------------------------------------ loading


def _reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "matching_matchcandidate",
            "matching_matchkey",
            "matching_matchrun",
            "matching_matchmodel",
            "customers_identifier",
            "customers_customer",
        ):
            cursor.execute(f"DELETE FROM {table}")


def _parse_date(text: Any) -> date | None:
    text = str(text or "")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _load(rows: list[dict[str, Any]]) -> tuple[dict[int, str], set[tuple[str, str]]]:
    """Bulk-load records as customers; returns customer id → record id, and exact-id pairs."""
    return synthetic.load_as_customers(rows, source="bench")


def _copy_load(rows: list[dict[str, Any]]) -> tuple[dict[int, str], set[tuple[str, str]]]:
    """Like ``_load`` on PostgreSQL, with COPY (a million customers in minutes, not an hour)."""
    from django.db import connection

    now = datetime.now(UTC)
    ids: dict[int, str] = {}
    owners: dict[tuple[str, str], str] = {}
    exact: set[tuple[str, str]] = set()
    identifiers = []
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY customers_customer (id, preferred_name, formality, salutation, given_name, family_name,"
            " date_of_birth, street, locality, postcode, region, country, language, time_zone,"
            " search_text, source, created_at, updated_at) FROM STDIN"
        ) as copy:
            for pk, row in enumerate(rows, start=1):
                ids[pk] = row["rec_id"]
                given, family = row["given_name"], row["family_name"]
                address = (row["date_of_birth"], row["street"], row["locality"], row["postcode"])
                place = ("", "", "en", "UTC")  # region, country, language, time zone
                search = f"{given} {family}".lower()
                copy.write_row(
                    (pk, given, "neutral", "", given, family, *address, *place, search, "bench", now, now)
                )
                for kind in ("email", "phone", "external"):
                    value = row.get(kind) or ""
                    if not value:
                        continue
                    owner = owners.get((kind, value))
                    if owner is not None:
                        low, high = sorted((owner, row["rec_id"]))
                        exact.add((low, high))
                        continue
                    owners[(kind, value)] = row["rec_id"]
                    identifiers.append((len(identifiers) + 1, pk, kind, value, value, "bench", now))
        with cursor.cursor.copy(
            "COPY customers_identifier (id, customer_id, kind, value_raw, value_normalised, source,"
            " first_seen_at) FROM STDIN"
        ) as copy:
            for identifier in identifiers:
                copy.write_row(identifier)
        for table in ("customers_customer", "customers_identifier"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
            cursor.execute(f"ANALYZE {table}")
    return ids, exact


def _regard(rows: list[dict[str, Any]], *, review_threshold: float) -> dict[str, Any]:
    from django.utils import timezone

    from regard.matching import services
    from regard.matching.models import MatchCandidate, MatchRun, MatchSettings

    _reset()
    started = time.perf_counter()
    ids, exact = _load(rows)
    loaded = time.perf_counter()
    settings = services.matching_settings()
    MatchSettings.objects.filter(pk=settings.pk).update(review_threshold=review_threshold)
    services.match_train(actor=None, seed=7)
    trained = time.perf_counter()
    run = services.match_run_execute(run=MatchRun.objects.create(created_at=timezone.now()))
    finished = time.perf_counter()
    scored: dict[tuple[str, str], float] = {
        tuple(sorted((ids[low], ids[high]))): probability  # type: ignore[misc]
        for low, high, probability in MatchCandidate.objects.values_list(
            "customer_low_id", "customer_high_id", "probability"
        ).iterator(chunk_size=20000)
    }
    for pair in exact:
        scored[pair] = 1.0
    return {
        "scores": scored,
        "load_s": loaded - started,
        "train_s": trained - loaded,
        "run_s": finished - trained,
        "pairs": run.pairs_compared,
        "run": run,
    }


# ------------------------------------------------------------------ metrics


def _metrics(
    scores: dict[tuple[str, str], float], truth: set[tuple[str, str]], threshold: float
) -> tuple[float, ...]:
    predicted = {pair for pair, p in scores.items() if p >= threshold}
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _best(
    scores: dict[tuple[str, str], float], truth: set[tuple[str, str]]
) -> tuple[float, tuple[float, ...]]:
    """The threshold (probabilities rounded to 4 places, and 0.5/0.8/0.9/0.99) with the best F1.

    One sort and running counts, so it finishes for the millions of pairs of the 1M set.
    """
    if not scores or not truth:
        return 0.0, (0.0, 0.0, 0.0)
    probability = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    hit = np.fromiter((pair in truth for pair in scores), dtype=bool, count=len(scores))
    order = np.argsort(-probability, kind="stable")
    probability, hit = probability[order], hit[order]
    thresholds = np.unique(np.r_[np.round(probability, 4), 0.5, 0.8, 0.9, 0.99])
    # predicted at threshold t: the pairs with p >= t, a prefix of the descending order
    predicted = len(probability) - np.searchsorted(probability[::-1], thresholds, side="left")
    hits = np.r_[0, np.cumsum(hit)][predicted]
    precision = np.divide(hits, predicted, out=np.zeros(len(thresholds)), where=predicted > 0)
    recall = hits / len(truth)
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros(len(thresholds)),
        where=precision + recall > 0,
    )
    k = int(np.argmax(f1))
    return float(thresholds[k]), (float(precision[k]), float(recall[k]), float(f1[k]))


def _row(name: str, scores: dict[tuple[str, str], float], truth: set[tuple[str, str]], default: float) -> str:
    p, r, f = _metrics(scores, truth, default)
    threshold, (bp, br, bf) = _best(scores, truth)
    return (
        f"  {name:<34} @{default:<5} P {p:.4f} R {r:.4f} F1 {f:.4f}   "
        f"best @{threshold:<6} P {bp:.4f} R {br:.4f} F1 {bf:.4f}"
    )


# ------------------------------------------------------------------ FEBRL


def _febrl_rows(frame: Any, *, with_ssn: bool) -> list[dict[str, Any]]:
    rows = []
    for rec_id, record in frame.iterrows():
        street = " ".join(
            str(x) for x in (record["street_number"], record["address_1"]) if str(x) != "nan"
        ).strip()
        rows.append(
            {
                "rec_id": str(rec_id),
                "given_name": str(record["given_name"] if str(record["given_name"]) != "nan" else ""),
                "family_name": str(record["surname"] if str(record["surname"]) != "nan" else ""),
                "date_of_birth": _parse_date(record["date_of_birth"]),
                "street": street,
                "locality": str(record["suburb"] if str(record["suburb"]) != "nan" else ""),
                "postcode": str(record["postcode"] if str(record["postcode"]) != "nan" else ""),
                "external": str(record["soc_sec_id"]).strip() if with_ssn else "",
            }
        )
    return rows


def _pairs(index: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    return {tuple(sorted((str(a), str(b)))) for a, b in index}  # type: ignore[misc]


def _quiet_splink() -> None:
    """Splink's training log would bury the table (its loggers exist once it is imported)."""
    import logging

    import splink  # noqa: F401

    for name in list(logging.root.manager.loggerDict):
        if name.startswith("splink"):
            logging.getLogger(name).setLevel(logging.ERROR)


def _splink_febrl(frames: list[Any], *, with_ssn: bool, link_type: str) -> dict[tuple[str, str], float]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    prepared = []
    for frame in frames:
        df = frame.reset_index().rename(columns={"rec_id": "unique_id"})
        df = df.fillna("").astype(str)
        if not with_ssn:
            df = df.drop(columns=["soc_sec_id"])
        prepared.append(df)
    comparisons = [
        cl.NameComparison("given_name"),
        cl.NameComparison("surname"),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
        cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
    ]
    rules = [
        block_on("given_name", "surname"),
        block_on("surname", "date_of_birth"),
        block_on("given_name", "date_of_birth"),
        block_on("postcode", "street_number"),
        block_on("suburb", "surname"),
    ]
    if with_ssn:
        comparisons.append(cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]))
        rules.append(block_on("soc_sec_id"))
    db_api = DuckDBAPI()
    tables = [db_api.register(df) for df in prepared]
    linker = Linker(
        tables,
        SettingsCreator(
            link_type=link_type, blocking_rules_to_generate_predictions=rules, comparisons=comparisons
        ),
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=7)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    predictions = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    return {
        tuple(sorted((str(a), str(b)))): float(p)  # type: ignore[misc]
        for a, b, p in zip(
            predictions["unique_id_l"],
            predictions["unique_id_r"],
            predictions["match_probability"],
            strict=True,
        )
    }


def _recordlinkage_febrl(frames: list[Any], *, with_ssn: bool) -> dict[tuple[str, str], float]:
    import recordlinkage

    indexer = recordlinkage.Index()
    indexer.block("given_name")
    indexer.block("surname")
    indexer.block("date_of_birth")
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="dob")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("postcode", "postcode", label="postcode")
    compare.string("address_1", "address_1", method="jarowinkler", threshold=0.85, label="address")
    if with_ssn:
        compare.exact("soc_sec_id", "soc_sec_id", label="ssn")
    if len(frames) == 1:
        pairs = indexer.index(frames[0])
        features = compare.compute(pairs, frames[0])
    else:
        pairs = indexer.index(frames[0], frames[1])
        features = compare.compute(pairs, frames[0], frames[1])
    classifier = recordlinkage.ECMClassifier(binarize=0.5)
    classifier.fit(features)
    probability = classifier.prob(features)
    return {tuple(sorted((str(a), str(b)))): float(p) for (a, b), p in probability.items()}  # type: ignore[misc]


def _accuracy() -> None:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    febrl3, links3 = load_febrl3(return_links=True)
    a4, b4, links4 = load_febrl4(return_links=True)
    sets = [
        ("FEBRL3", [febrl3], _pairs(links3), "dedupe_only"),
        ("FEBRL4", [a4, b4], _pairs(links4), "link_only"),
    ]
    print("\nAccuracy (precision, recall, F1; default threshold and best threshold)")
    for name, frames, truth, link_type in sets:
        for with_ssn in (True, False):
            label = f"{name} {'with' if with_ssn else 'without'} soc_sec_id ({len(truth)} true pairs)"
            print(f"\n {label}")
            rows = [r for frame in frames for r in _febrl_rows(frame, with_ssn=with_ssn)]
            result = _regard(rows, review_threshold=0.01)
            scores = result["scores"]
            if link_type == "link_only":  # only pairs across the two files are a link task's answers
                scores = {p: s for p, s in scores.items() if ("org" in p[0]) != ("org" in p[1])}
            print(
                _row(
                    f"Regard ({result['run_s'] + result['train_s']:.1f} s)", scores, truth, DEFAULT_THRESHOLD
                )
            )
            started = time.perf_counter()
            splink_scores = _splink_febrl(frames, with_ssn=with_ssn, link_type=link_type)
            print(
                _row(
                    f"Splink 5 ({time.perf_counter() - started:.1f} s)",
                    splink_scores,
                    truth,
                    SPLINK_THRESHOLD,
                )
            )
            started = time.perf_counter()
            rl_scores = _recordlinkage_febrl(frames, with_ssn=with_ssn)
            print(_row(f"recordlinkage ECM ({time.perf_counter() - started:.1f} s)", rl_scores, truth, 0.5))


# ------------------------------------------------------------------ synthetic


def _splink_synthetic(
    rows: list[dict[str, Any]],
) -> tuple[dict[tuple[str, str], float], float, Callable[[], float], int]:
    """(scores, training seconds, a timed predict to repeat, pairs its blocking rules make)."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from regard.matching.engine import mailbox

    df = pd.DataFrame(rows).rename(columns={"rec_id": "unique_id"})
    df["date_of_birth"] = df["date_of_birth"].map(lambda d: d.isoformat() if d else None)
    for column in ("given_name", "family_name", "street", "locality", "postcode", "email", "phone"):
        df[column] = df[column].replace("", None)
    df["given_name"] = df["given_name"].str.lower()
    df["family_name"] = df["family_name"].str.lower()
    df["mailbox"] = df["email"].map(lambda e: mailbox(e) if e else None)
    df["phone7"] = df["phone"].map(lambda p: p[-7:] if p else None)
    rules = [
        block_on("substr(given_name,1,3)", "substr(family_name,1,3)"),
        block_on("date_of_birth", "substr(given_name,1,1)"),
        block_on("date_of_birth", "substr(family_name,1,1)"),
        block_on("postcode", "substr(given_name,1,1)"),
        block_on("postcode", "substr(family_name,1,1)"),
        block_on("mailbox"),
        block_on("phone7"),
        block_on("family_name", "locality"),
    ]
    comparisons = [
        cl.NameComparison("given_name"),
        cl.NameComparison("family_name"),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
        cl.JaroWinklerAtThresholds("street", [0.9, 0.75]),
        cl.JaroWinklerAtThresholds("locality", [0.88]),
        cl.LevenshteinAtThresholds("postcode", [1]),
        cl.EmailComparison("email"),
        cl.LevenshteinAtThresholds("phone", [1]),
    ]
    db_api = DuckDBAPI()
    table = db_api.register(df)
    started = time.perf_counter()
    linker = Linker(
        table,
        SettingsCreator(
            link_type="dedupe_only", blocking_rules_to_generate_predictions=rules, comparisons=comparisons
        ),
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "family_name", "date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=7)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    trained = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()

    def predict_again() -> float:
        begin = time.perf_counter()
        linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
        return time.perf_counter() - begin

    counts = count_comparisons_from_blocking_rules(
        table, blocking_rules=rules, link_type="dedupe_only", record_sample_proportion=1.0
    )
    pairs = int(counts[-1]["cumulative_comparison_count"]) if counts else 0
    scores = {
        tuple(sorted((str(a), str(b)))): float(p)  # type: ignore[misc]
        for a, b, p in zip(
            predictions["unique_id_l"],
            predictions["unique_id_r"],
            predictions["match_probability"],
            strict=True,
        )
    }
    return scores, trained - started, predict_again, pairs


def _incremental(newcomers: list[dict[str, Any]], ids_by_rec: dict[str, int]) -> tuple[list[float], float]:
    from django.db import transaction

    from regard.customers import services as customer_services
    from regard.matching import services

    timings, found = [], 0
    for row in newcomers:
        with transaction.atomic():
            customer = customer_services.customer_create(
                actor=None,
                source="bench",
                given_name=row["given_name"],
                family_name=row["family_name"],
                date_of_birth=row["date_of_birth"].isoformat() if row["date_of_birth"] else None,
                street=row["street"],
                locality=row["locality"],
                postcode=row["postcode"],
            )
            started = time.perf_counter()
            candidates = services.match_candidates_for(customer)
            timings.append((time.perf_counter() - started) * 1000)
            original = ids_by_rec.get(row["rec_id"].split("-", 1)[1])
            found += any(original in (c.customer_low_id, c.customer_high_id) for c in candidates)
            transaction.set_rollback(True)
    return timings, found / max(len(newcomers), 1)


def _regard_predict(
    model: Any, records: list[dict[str, str]]
) -> tuple[int, float, np.ndarray, np.ndarray, np.ndarray]:
    """Blocking + comparison + scoring of every candidate pair, in memory (Splink's predict span)."""
    from regard.matching import engine

    started = time.perf_counter()
    table = engine.RecordTable.build(records)
    ia, ib = engine.block_pairs(records, table=table)
    _, _, probability, _ = engine.score_pairs(model, table, ia, ib)
    return len(ia), time.perf_counter() - started, ia, ib, probability


def _like_for_like(
    rows: list[dict[str, Any]],
    truth: set[tuple[str, str]],
    ids: dict[int, str],
    exact: set[tuple[str, str]],
    *,
    repeats: int,
    loaded: float,
) -> None:
    """Training, then blocking + comparison + scoring of every candidate pair, for Regard and
    Splink on the same records; each span timed ``repeats`` times, interleaved (the machine is
    shared), and the median reported; then both sides' F1 on the synthetic truth."""
    from regard.matching import selectors, services

    customer_ids, records = selectors.profiles()
    profiled = time.perf_counter()
    print(f"  profiles read in {profiled - loaded:.1f} s")
    started = time.perf_counter()
    services.match_train(actor=None, seed=7, records=records)
    regard_train = time.perf_counter() - started
    found = services.active_model()
    assert found is not None
    regard_pairs, _, ia, ib, probability = _regard_predict(found[1], records)
    splink_scores, splink_train, splink_predict_again, splink_pairs = _splink_synthetic(rows)
    regard_times, splink_times = [], []
    for _ in range(repeats):
        regard_times.append(_regard_predict(found[1], records)[1])
        splink_times.append(splink_predict_again())
    regard_predict, splink_predict = sorted(regard_times)[repeats // 2], sorted(splink_times)[repeats // 2]
    regard_rate = regard_pairs / max(regard_predict, 1e-9)
    splink_rate = splink_pairs / max(splink_predict, 1e-9)
    print(
        f"  Regard   train {regard_train:.2f} s; block+compare+score {regard_predict:.2f} s "
        f"(median of {repeats}; {min(regard_times):.2f}–{max(regard_times):.2f}), "
        f"{regard_pairs:,} pairs, {regard_rate:,.0f} pairs/s"
    )
    print(
        f"  Splink 5 train {splink_train:.2f} s; predict (block+compare+score) {splink_predict:.2f} s "
        f"(median of {repeats}; {min(splink_times):.2f}–{max(splink_times):.2f}), "
        f"{splink_pairs:,} pairs, {splink_rate:,.0f} pairs/s"
    )
    print(
        f"  ratio Regard/Splink: pairs/s ×{regard_rate / max(splink_rate, 1e-9):.2f}; "
        f"train time ×{splink_train / max(regard_train, 1e-9):.2f} faster"
    )
    by_index = [ids[pk] for pk in customer_ids]
    keep = np.flatnonzero(probability >= 0.01)
    in_memory = {
        tuple(sorted((by_index[a], by_index[b]))): float(p)  # type: ignore[misc]
        for a, b, p in zip(ia[keep].tolist(), ib[keep].tolist(), probability[keep].tolist(), strict=True)
    }
    for pair in exact:
        in_memory[pair] = 1.0
    print(_row("Regard (in memory)", in_memory, truth, DEFAULT_THRESHOLD))
    print(_row("Splink 5", splink_scores, truth, SPLINK_THRESHOLD))


def _speed(scale: float) -> None:
    from regard.matching import services
    from regard.matching.models import MatchCandidate, MatchRun, MatchSettings

    count = max(int(1_000_000 * scale), 2000)
    print(f"\nSpeed: {count:,} synthetic customers (seed 7), same records for both")
    started = time.perf_counter()
    rows, truth, newcomers = synthetic.generate(count, seed=7)
    print(f"  generated in {time.perf_counter() - started:.1f} s; {len(truth):,} true duplicate pairs")
    _reset()
    started = time.perf_counter()
    ids, exact = _load(rows)
    loaded = time.perf_counter()
    print(f"  loaded as customers in {loaded - started:.1f} s")
    _like_for_like(rows, truth, ids, exact, repeats=5, loaded=loaded)

    # The whole batch run as production does it: profiles from the database, blocking
    # index written, candidates stored (and read back here for the F1).
    settings = services.matching_settings()
    MatchSettings.objects.filter(pk=settings.pk).update(review_threshold=0.5)
    started = time.perf_counter()
    run = services.match_run_execute(run=MatchRun.objects.create(created_at=datetime.now(UTC)))
    run_s = time.perf_counter() - started
    stored: dict[tuple[str, str], float] = {
        tuple(sorted((ids[low], ids[high]))): p  # type: ignore[misc]
        for low, high, p in MatchCandidate.objects.values_list(
            "customer_low_id", "customer_high_id", "probability"
        ).iterator(chunk_size=20000)
    }
    for pair in exact:
        stored[pair] = 1.0
    print(
        f"  Regard batch run (profiles read, index written, candidates stored) {run_s:.1f} s, "
        f"{run.pairs_compared:,} pairs, {run.pairs_compared / max(run_s, 1e-9):,.0f} pairs/s"
    )
    print(_row("Regard (batch run, stored)", stored, truth, DEFAULT_THRESHOLD))

    _report_incremental(newcomers, ids)


def _report_incremental(newcomers: list[dict[str, Any]], ids: dict[int, str]) -> None:
    from regard.customers.models import Customer

    ids_by_rec = {rec_id: pk for pk, rec_id in ids.items()}
    timings, hit_rate = _incremental(newcomers, ids_by_rec)
    timings.sort()
    p50, p95 = timings[len(timings) // 2], timings[int(len(timings) * 0.95)]
    print(
        f"  incremental flag against {Customer.objects.count():,} stored profiles: p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms over {len(timings)} new customers; their original flagged for {hit_rate:.0%}"
    )


def _scale(scale: float) -> None:
    """Full size: load, Regard and Splink like for like, one batch run (builds the index), incremental."""
    from regard.matching import services
    from regard.matching.models import MatchCandidate, MatchRun

    count = max(int(1_000_000 * scale), 2000)
    print(f"\nScale: {count:,} synthetic customers (seed 7)")
    started = time.perf_counter()
    rows, truth, newcomers = synthetic.generate(count, seed=7)
    print(f"  generated in {time.perf_counter() - started:.1f} s; {len(truth):,} true duplicate pairs")
    from django.db import connection

    _reset()
    started = time.perf_counter()
    ids, exact = _copy_load(rows) if connection.vendor == "postgresql" else _load(rows)
    loaded = time.perf_counter()
    print(f"  loaded as customers into {connection.vendor} in {loaded - started:.1f} s")
    # Like for like at full size (three timings each), then the production batch run.
    _like_for_like(rows, truth, ids, exact, repeats=3, loaded=loaded)
    del rows
    stages: list[tuple[str, float]] = []

    def progress(stage: str, fraction: float) -> None:
        if not stages or stages[-1][0] != stage:
            stages.append((stage, time.perf_counter()))

    started = time.perf_counter()
    run = services.match_run_execute(
        run=MatchRun.objects.create(created_at=datetime.now(UTC)), progress=progress
    )
    run_s = time.perf_counter() - started
    spans = [
        f"{stage} {end - begin:.1f} s"
        for (stage, begin), (_, end) in zip(stages, [*stages[1:], ("", time.perf_counter())], strict=True)
    ]
    print(
        f"  batch run (train + index + score + store) {run_s:.1f} s, {run.pairs_compared:,} pairs, "
        f"{run.pairs_compared / max(run_s, 1e-9):,.0f} pairs/s; {'; '.join(spans)}"
    )
    stored: dict[tuple[str, str], float] = {
        tuple(sorted((ids[low], ids[high]))): p  # type: ignore[misc]
        for low, high, p in MatchCandidate.objects.values_list(
            "customer_low_id", "customer_high_id", "probability"
        ).iterator(chunk_size=50_000)
    }
    for pair in exact:
        stored[pair] = 1.0
    print(_row("Regard (batch run, stored)", stored, truth, DEFAULT_THRESHOLD))
    _report_incremental(newcomers, ids)


def run(scale: float) -> None:
    _setup_django()
    _quiet_splink()
    parts = os.environ.get("BENCH_MATCH_PARTS", "accuracy,speed").split(",")
    if "accuracy" in parts:
        _accuracy()
    if "speed" in parts:
        _speed(scale)
    if "scale" in parts:  # not by default: meant for --scale 1
        _scale(scale)
    if "incremental" in parts:  # not by default: again on what a scale run left (BENCH_MATCH_REUSE=1)
        _incremental_again(scale)


def _incremental_again(scale: float) -> None:
    """The incremental check alone, on the database a scale run of the same size loaded."""
    count = max(int(1_000_000 * scale), 2000)
    rows, _, newcomers = synthetic.generate(count, seed=7)
    print(f"\nIncremental again: {count:,} synthetic customers (seed 7) as a scale run loaded them")
    _report_incremental(newcomers, {pk: row["rec_id"] for pk, row in enumerate(rows, start=1)})
