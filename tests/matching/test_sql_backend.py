"""The postgres backend gives what the local engine gives: the similarity functions against
rapidfuzz, every blocked pair's levels against ``engine.compare``, and a whole batch run's
candidates against the local backend's (PostgreSQL only; skipped on SQLite)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA, JaroWinkler

from regard.matching import engine, selectors, services, sql_backend
from regard.matching.models import MatchCandidate, MatchKey, MatchModel, MatchRun, MatchSettings
from tests.bench import synthetic
from tests.matching.conftest import assert_same_candidates, batch_run_on

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]


# ------------------------------------------------------------------ the SQL functions

# PostgreSQL text holds any code point but NUL (and no lone surrogates, which UTF-8 cannot carry).
UNICODE = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=24)
SHORT = st.text(alphabet="ab", max_size=5)  # repeated letters, windows of 0 and 1, empty strings
NAMEISH = st.text(alphabet="aeinrsty éü", max_size=12)
LONG = st.text(alphabet="abc", min_size=60, max_size=150)  # past one 64-bit word in rapidfuzz
PAIRS = st.lists(
    st.one_of(
        st.tuples(UNICODE, UNICODE),
        st.tuples(SHORT, SHORT),
        st.tuples(NAMEISH, NAMEISH),
        st.tuples(LONG, LONG),
        st.tuples(SHORT, LONG),
        UNICODE.map(lambda text: (text, text[::-1])),
        UNICODE.map(lambda text: (text, text[1:] + text[:1])),
    ),
    min_size=1,
    max_size=40,
)


def _in_sql(pairs: list[tuple[str, str]]) -> list[tuple[float, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT regard_jaro_winkler(a, b), regard_osa(a, b) "
            "FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS x(a, b, n) ORDER BY n",
            [[a for a, _ in pairs], [b for _, b in pairs]],
        )
        return cursor.fetchall()


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=PAIRS)
def test_the_sql_similarity_functions_are_rapidfuzz(pairs: list[tuple[str, str]]) -> None:
    for (a, b), (jaro_winkler, osa) in zip(pairs, _in_sql(pairs), strict=True):
        assert osa == OSA.distance(a, b), (a, b)
        assert abs(jaro_winkler - JaroWinkler.normalized_similarity(a, b)) < 1e-12, (a, b)


def test_the_sql_similarity_functions_on_the_edge_cases() -> None:
    pairs = [
        ("", ""),
        ("", "a"),
        ("a", ""),
        ("a", "a"),
        ("a", "b"),
        ("ab", "a"),
        ("ab", "ba"),
        ("aaaa", "abbbb"),
        ("martha", "marhta"),
        ("dixon", "dicksonx"),
        ("jellyfish", "smellyfish"),
        ("crate", "trace"),
        ("19800412", "19801204"),
        ("ca", "abc"),
        ("😀x字", "字😀x"),
    ]
    for (a, b), (jaro_winkler, osa) in zip(pairs, _in_sql(pairs), strict=True):
        assert osa == OSA.distance(a, b), (a, b)
        assert abs(jaro_winkler - JaroWinkler.normalized_similarity(a, b)) < 1e-12, (a, b)


# ------------------------------------------------------------------ data


def _bulk_load(rows: list[dict[str, Any]]) -> None:
    """Customers and their identifiers as plain rows (like the benchmark; no hooks)."""
    synthetic.load_as_customers(rows, source="test", kinds=("email", "phone", "account", "external"))


def _person(given: str, family: str, born: date | None = None, **more: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "given_name": given,
        "family_name": family,
        "date_of_birth": born,
        "street": "",
        "locality": "",
        "postcode": "",
    }
    row.update(more)
    return row


# Every level of every field, and the corners of each rule: nickname groups (chris sits in
# three), the prefix rule at two and three letters, names exchanged (and exchanged with a
# typo), day and month exchanged, typos in dates and codes, mailboxes that are empty, short
# or equal at another domain, phones sharing their last seven digits or shorter than seven,
# accents and other scripts, and missing values.
TRICKY = [
    _person(
        "Jonathan",
        "Smithers",
        date(1980, 4, 12),
        street="12 Main Street",
        locality="Springfield",
        postcode="62701",
        email="jonathan.smithers@example.org",
        phone="12025550143",
        account="A1001",
    ),
    _person(
        "Jon",
        "Smithers",
        date(1980, 12, 4),
        street="12 Main St",
        locality="Springfeld",
        postcode="62710",
        email="jonathansmithers+shop@mail.example",
        phone="19995550143",
        account="A1010",
    ),
    _person(
        "Smithers",
        "Jonathan",
        date(1980, 4, 13),
        street="12 Main Street",
        locality="Springfield",
        postcode="62701",
        email="j.smithers@example.org",
        phone="2025550143",
        account="A1001x",
    ),
    _person(
        "Smithres",
        "Jonathon",
        date(1981, 4, 12),
        street="21 Main Street",
        postcode="62701",
        email="+tag@example.org",
        phone="5550143",
    ),
    _person(
        "Chris",
        "Ng",
        date(1990, 1, 2),
        street="1 Rue de la Paix",
        locality="Paris",
        postcode="75002",
        email="@example.fr",
        phone="123456",
    ),
    _person(
        "Christina",
        "Ng",
        date(1990, 2, 1),
        street="1 rue de la paix",
        locality="Paris",
        postcode="75002",
        email="..@example.fr",
        phone="1234567",
    ),
    _person("Christian", "Ng", date(1990, 1, 2), locality="Paris", email="ab@example.fr", phone="1234568"),
    _person("Christopher", "Nguyen", date(1990, 1, 20), locality="Paris", email="ab@mail.example"),
    _person("Kit", "Nguyen", date(2090, 1, 20), locality="Paris", email="abc@example.fr"),
    _person("Al", "Alexander", date(1970, 7, 7), email="abc@mail.example", postcode="10115"),
    _person("Alex", "Alexander", date(1970, 7, 7), street="Unter den Linden 5", postcode="10115"),
    _person("Alexandra", "Alexandre", None, street="Unter den Linden 5", postcode="10117"),
    _person("Bill", "Müller", date(1965, 3, 9), street="Hauptstraße 3", locality="München", postcode="80331"),
    _person(
        "William", "Muller", date(1965, 9, 3), street="Hauptstrasse 3", locality="Munchen", postcode="80331"
    ),
    _person(
        "Wilhelm", "Mueller", date(1965, 3, 9), street="Hauptstr 3", locality="München", postcode="80313"
    ),
    _person("Zoë", "Ó Briain", date(1999, 11, 11), locality="Dublin", email="zoe.obriain@example.ie"),
    _person("Zoe", "O'Briain", date(1999, 11, 11), locality="Dublin", email="zoeobriain@other.example"),
    _person("Пётр", "Иванов", date(1955, 5, 5), locality="Москва", email="petr@example.ru"),
    _person("Петр", "Иванов", date(1955, 5, 5), locality="Москва", email="petr.@example.ru"),
    _person("花子", "山田", date(1988, 8, 8), locality="東京", phone="81312345678"),
    _person("花", "山田", date(1988, 8, 8), locality="東京", phone="81312345679"),
    _person("", "Smithers", None, postcode="62701"),
    _person("Jonathan", "", None, postcode="62701", email="jonathan.smithers@example.org.uk"),
    _person("", "", None, email="jonathansmithers@example.net"),
    _person("Ann", "Lee", date(2000, 1, 1), account="X9"),
    _person("Anne", "Lee", date(2000, 1, 10), account="X99"),
    _person("Anna", "Lee", date(2001, 10, 1), account="9X"),
    _person("Lee", "Ann", date(2000, 1, 1), external="X9"),
]


def _synthetic_rows(count: int, seed: int) -> list[dict[str, Any]]:
    rows, _, _ = synthetic.generate(count, seed=seed)
    return [{key: value for key, value in row.items() if key != "rec_id"} for row in rows]


def _crowded(rows: list[dict[str, Any]], *, postcodes: int, seed: int) -> list[dict[str, Any]]:
    """The rows moved into a few postcodes, so that blocks are large and pairs many."""
    rng = np.random.default_rng(seed)
    return [dict(row, postcode=f"{10000 + int(rng.integers(postcodes))}") for row in rows]


def _train_and_index() -> tuple[list[int], list[dict[str, str]], engine.RecordTable, engine.Model]:
    """Profiles, a model trained on them, and the blocking index written as a batch run does."""
    ids, records = selectors.profiles()
    services.match_train(actor=None, records=records)
    found = services.active_model()
    assert found is not None
    table = engine.RecordTable.build(records)
    services._rebuild_keys(ids, engine.BlockIndex.from_table(table))
    return ids, records, table, found[1]


def _sql_pairs(
    ids: list[int], records: list[dict[str, str]], table: engine.RecordTable, model: engine.Model
) -> tuple[int, list[sql_backend.ScoredPair]]:
    with sql_backend.loaded(ids=ids, records=records, table=table, model=model) as tables:
        return tables.compared, list(sql_backend.scored(tables, model, min_probability=None))


def _assert_pairs_graded_like_the_engine(
    ids: list[int],
    table: engine.RecordTable,
    model: engine.Model,
    pairs: list[sql_backend.ScoredPair],
) -> None:
    position = {pk: index for index, pk in enumerate(ids)}
    ia = np.array([position[p.low] for p in pairs], dtype=np.int64)
    ib = np.array([position[p.high] for p in pairs], dtype=np.int64)
    levels = engine.compare(table, ia, ib)
    adjustments = model.term_adjustments(table, ia, levels)
    weights, probability = model.score(levels, adjustments)
    sql_levels = np.array([p.levels for p in pairs], dtype=np.int8).reshape(-1, len(engine.FIELDS))
    for column, name in enumerate(engine.FIELDS):
        differ = np.flatnonzero(levels[:, column] != sql_levels[:, column])
        assert not len(differ), (
            name,
            [
                (
                    table.vocab[name][table.codes[name][ia[k]]] if table.codes[name][ia[k]] >= 0 else "",
                    table.vocab[name][table.codes[name][ib[k]]] if table.codes[name][ib[k]] >= 0 else "",
                    int(levels[k, column]),
                    int(sql_levels[k, column]),
                )
                for k in differ[:5]
            ],
        )
    assert np.array_equal(np.array([p.adjustments for p in pairs]).reshape(adjustments.shape), adjustments)
    assert np.allclose([p.weight for p in pairs], weights, rtol=0, atol=1e-9)
    assert np.allclose([p.probability for p in pairs], probability, rtol=0, atol=1e-9)


# ------------------------------------------------------------------ levels, pair by pair


def test_every_pair_of_the_tricky_people_is_graded_as_the_engine_grades_it() -> None:
    _bulk_load(TRICKY)
    ids, records, table, model = _train_and_index()
    # One extra key shared by all of them, so every pair is blocked and compared.
    MatchKey.objects.bulk_create(MatchKey(key_hash=42, customer_id=pk) for pk in ids)
    compared, pairs = _sql_pairs(ids, records, table, model)
    assert compared == len(ids) * (len(ids) - 1) // 2 == len(pairs)
    _assert_pairs_graded_like_the_engine(ids, table, model, pairs)
    levels = np.array([p.levels for p in pairs])
    # the data reaches every level of every field (else this test would prove less)
    for column, name in enumerate(engine.FIELDS):
        # (an email or phone belongs to one customer only: they are never exact between two)
        unreachable = {1} if name in ("email", "phone") else set()
        assert set(levels[:, column].tolist()) == set(range(len(engine.LEVELS[name]) + 1)) - unreachable, name


def test_fields_that_nobody_has_are_missing_for_every_pair() -> None:
    # No street, locality or phone anywhere: their levels are 0 and they weigh nothing.
    _bulk_load([dict(row, street="", locality="", phone="") for row in TRICKY])
    ids, records, table, model = _train_and_index()
    MatchKey.objects.bulk_create(MatchKey(key_hash=42, customer_id=pk) for pk in ids)
    compared, pairs = _sql_pairs(ids, records, table, model)
    assert compared == len(pairs) == len(ids) * (len(ids) - 1) // 2
    _assert_pairs_graded_like_the_engine(ids, table, model, pairs)
    for name in ("street", "locality", "phone"):
        assert {p.levels[engine.FIELDS.index(name)] for p in pairs} == {0}


def test_every_blocked_pair_of_a_synthetic_set_is_the_engines_pair_with_the_engines_levels() -> None:
    _bulk_load(_synthetic_rows(3000, seed=11) + TRICKY)
    ids, records, table, model = _train_and_index()
    ia, ib = engine.block_pairs(records, table=table)
    expected = set(zip(np.asarray(ids)[ia].tolist(), np.asarray(ids)[ib].tolist(), strict=True))
    # Besides the blocked pairs (mostly alike), random groups of twenty customers sharing a
    # made-up key: pairs of strangers, whose levels are mostly the low ones.
    order = np.random.default_rng(1).permutation(len(ids))
    MatchKey.objects.bulk_create(
        MatchKey(key_hash=-1 - position // 20, customer_id=ids[index])
        for position, index in enumerate(order.tolist())
    )
    for start in range(0, len(order), 20):
        group = sorted(ids[index] for index in order[start : start + 20].tolist())
        expected |= {(low, high) for n, low in enumerate(group) for high in group[n + 1 :]}

    compared, pairs = _sql_pairs(ids, records, table, model)
    assert compared == len(pairs) == len(expected) > 25_000
    assert {(p.low, p.high) for p in pairs} == expected
    _assert_pairs_graded_like_the_engine(ids, table, model, pairs)


def _blocked(
    ids: list[int], records: list[dict[str, str]], model: engine.Model, *, max_block: int
) -> set[tuple[int, int]]:
    table = engine.RecordTable.build(records)
    with sql_backend.loaded(
        ids=ids, records=records, table=table, model=model, max_block=max_block
    ) as tables:
        return {(p.low, p.high) for p in sql_backend.scored(tables, model, min_probability=None)}


def _engine_blocked(ids: list[int], records: list[dict[str, str]], *, max_block: int) -> set[tuple[int, int]]:
    ia, ib = engine.block_pairs(records, max_block=max_block)
    return set(zip(np.asarray(ids)[ia].tolist(), np.asarray(ids)[ib].tolist(), strict=True))


def test_blocking_skips_keys_held_by_more_customers_than_the_limit_counting_loaded_ones_only() -> None:
    _bulk_load(TRICKY)
    ids, records, _, model = _train_and_index()
    MatchKey.objects.bulk_create(MatchKey(key_hash=42, customer_id=pk) for pk in ids[:6])
    together = {(low, high) for n, low in enumerate(ids[:6]) for high in ids[n + 1 : 6]}

    assert (
        _blocked(ids, records, model, max_block=500)
        == _engine_blocked(ids, records, max_block=500) | together
    )
    # six customers on one key: too many at a limit of five, as an engine block would be
    assert _blocked(ids, records, model, max_block=5) == _engine_blocked(ids, records, max_block=5)
    # the first merged away (not among the profiles): its rows in the index are not counted
    rest = {(low, high) for n, low in enumerate(ids[1:6]) for high in ids[n + 2 : 6]}
    assert _blocked(ids[1:], records[1:], model, max_block=5) == (
        _engine_blocked(ids[1:], records[1:], max_block=5) | rest
    )


# ------------------------------------------------------------------ a whole batch run


def test_a_batch_run_on_postgres_stores_the_candidates_the_local_run_stores() -> None:
    _bulk_load(_crowded(_synthetic_rows(3000, seed=5), postcodes=15, seed=5) + TRICKY)
    settings_row = services.matching_settings()
    MatchSettings.objects.filter(pk=settings_row.pk).update(review_threshold=1e-10)
    local_run, local = batch_run_on("local")  # trains the model both runs use
    MatchCandidate.objects.all().delete()
    MatchKey.objects.all().delete()  # the postgres run rebuilds the index itself
    postgres_run, in_postgres = batch_run_on("postgres")

    assert postgres_run.status == MatchRun.Status.DONE
    assert postgres_run.model_id == local_run.model_id
    assert postgres_run.pairs_compared == local_run.pairs_compared > 10_000
    assert postgres_run.candidates_found == local_run.candidates_found == len(local) > 1000
    assert_same_candidates(local, in_postgres)


def test_training_on_postgres_uses_a_seeded_sample_of_a_large_set_and_everything_of_a_small_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _bulk_load(_synthetic_rows(600, seed=2))
    with override_settings(REGARD_MATCH_BACKEND="local"):
        local = services.match_train(actor=None, seed=3)
    with override_settings(REGARD_MATCH_BACKEND="postgres"):
        everything = services.match_train(actor=None, seed=3)
        monkeypatch.setattr(services, "POSTGRES_TRAINING_SAMPLE", 400)
        sampled = services.match_train(actor=None, seed=3)
        again = services.match_train(actor=None, seed=3)
    assert everything.parameters == local.parameters
    assert sampled.parameters["summary"]["records"] == 400
    assert again.parameters == sampled.parameters != everything.parameters
    assert MatchModel.objects.count() == 4
