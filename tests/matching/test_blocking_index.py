from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from regard.customers.models import Customer
from regard.matching import engine, selectors, services
from regard.matching.models import MatchKey, MatchRun
from regard.matching.services import blocking_index


def _expected_keys() -> set[tuple[int, int]]:
    ids, records = selectors.profiles()
    return {
        (key_hash, pk)
        for pk, record in zip(ids, records, strict=True)
        for key_hash in engine.blocking_keys(record)
    }


def _stored_keys() -> set[tuple[int, int]]:
    return set(MatchKey.objects.values_list("key_hash", "customer_id"))


def _run() -> MatchRun:
    return services.match_run_execute(run=MatchRun.objects.create(created_at=timezone.now()))


def test_batch_run_brings_a_stale_blocking_index_in_line_with_the_profiles(
    population: Callable[..., list[Customer]],
) -> None:
    people = population(40)
    _run()
    assert _stored_keys() == _expected_keys()

    # A profile edited behind the index's back, a stray row, and a customer missing its keys.
    Customer.objects.filter(pk=people[0].pk).update(family_name="Quarterbridge", postcode="99999")
    MatchKey.objects.create(key_hash=12345, customer_id=people[1].pk)
    MatchKey.objects.filter(customer_id=people[2].pk).delete()
    _run()

    assert _stored_keys() == _expected_keys()
    assert MatchKey.objects.count() == len(_expected_keys())


def test_block_pairs_are_the_same_with_a_prebuilt_index(
    population: Callable[..., list[Customer]], jonathan: Callable[[], tuple[Customer, Customer]]
) -> None:
    population(60)
    jonathan()
    _, records = selectors.profiles()
    index = engine.BlockIndex.build(records)

    plain, prebuilt = engine.block_pairs(records), engine.block_pairs(records, index=index)

    assert plain[0].tolist() == prebuilt[0].tolist()
    assert plain[1].tolist() == prebuilt[1].tolist()
    assert len(plain[0]) > 0


def _clean_text_general(text: str) -> str:
    """The rule written out in full: NFKD, no accents, casefold, punctuation to spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def test_clean_text_gives_the_same_result_for_ascii_and_other_text() -> None:
    for text in (
        "  O'Brien-Smith ",
        "Zoë Ångström",
        "12, Main St.",
        "ÉCOLE\tdu  Parc",
        "ﬁve",
        "Straße",
        "",
        "-",
    ):
        assert engine.clean_text(text) == _clean_text_general(text)


@pytest.mark.postgres_only
def test_a_bulk_rebuild_on_postgresql_restores_the_lookup_index_and_foreign_key(
    population: Callable[..., list[Customer]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blocking_index, "BULK_KEY_ROWS", 1)
    bulk_rebuilds = []
    replace = blocking_index._replace_keys_in_bulk
    monkeypatch.setattr(
        blocking_index, "_replace_keys_in_bulk", lambda *args: bulk_rebuilds.append(1) or replace(*args)
    )
    population(30)
    MatchKey.objects.all().delete()  # a new installation's first run: the index is empty
    before = _schema()

    _run()

    assert bulk_rebuilds == [1]
    assert _stored_keys() == _expected_keys()
    assert _schema() == before  # the same index and foreign key, by name and definition

    # Mostly new again (a stray row, most keys gone): the bulk path once more, same result.
    MatchKey.objects.exclude(pk__in=MatchKey.objects.order_by("pk").values("pk")[:5]).delete()
    MatchKey.objects.create(key_hash=12345, customer_id=Customer.objects.first().pk)
    _run()

    assert bulk_rebuilds == [1, 1]
    assert _stored_keys() == _expected_keys()
    assert _schema() == before
    with transaction.atomic():  # the foreign key is enforced again
        MatchKey.objects.create(key_hash=1, customer_id=10**9)
        with pytest.raises(IntegrityError):
            connection.check_constraints()
        transaction.set_rollback(True)


def _schema() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "UNION SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
            [MatchKey._meta.db_table, MatchKey._meta.db_table],
        )
        return set(cursor.fetchall())
