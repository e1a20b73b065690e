from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from regard.customers import services as customer_services
from regard.customers.models import Customer, Identifier, MergeRecord
from regard.matching import engine, selectors, services
from regard.matching.models import MatchCandidate, MatchRun, MatchSettings
from regard.matching.services import incremental
from regard.privacy.roles import Role
from tests.matching.conftest import create


def _run() -> MatchRun:
    return services.match_run_execute(run=MatchRun.objects.create(created_at=timezone.now()))


@pytest.fixture
def planted(
    population: Callable[..., list[Customer]], jonathan: Callable[[], tuple[Customer, Customer]]
) -> MatchCandidate:
    population()
    first, second = jonathan()
    _run()
    return MatchCandidate.objects.get(customer_low=first, customer_high=second)


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_accept_from_the_review_queue_merges_and_undo_restores(
    planted: MatchCandidate, make_user: Callable[..., User]
) -> None:
    client = _client_for(make_user(Role.AGENT))
    survivor, absorbed = planted.customer_low, planted.customer_high
    absorbed_identifiers = set(Identifier.objects.filter(customer=absorbed).values_list("pk", flat=True))

    queue = client.get("/matching/")
    assert queue.status_code == 200
    assert f"/matching/{planted.pk}/" in queue.content.decode()
    page = client.get(f"/matching/{planted.pk}/")
    body = page.content.decode()
    assert "Jonathan" in body
    assert "Jon" in body
    assert 'data-testid="waterfall"' in body

    response = client.post(f"/matching/{planted.pk}/accept")
    assert response.status_code == 302
    planted.refresh_from_db()
    absorbed.refresh_from_db()
    assert planted.status == "accepted"
    assert planted.merge is not None
    assert absorbed.merged_into_id == survivor.pk
    assert (
        set(Identifier.objects.filter(customer=survivor).values_list("pk", flat=True)) >= absorbed_identifiers
    )
    assert "Undo this merge" in client.get(f"/matching/{planted.pk}/").content.decode()

    response = client.post(f"/matching/{planted.pk}/undo")
    assert response.status_code == 302
    planted.refresh_from_db()
    absorbed.refresh_from_db()
    assert absorbed.merged_into_id is None
    assert (
        set(Identifier.objects.filter(customer=absorbed).values_list("pk", flat=True)) == absorbed_identifiers
    )
    assert MergeRecord.objects.get(pk=planted.merge_id).is_undone
    assert planted.status == "rejected"  # undone by a person: remembered as two people


def test_rejected_pairs_never_come_back_after_another_run(planted: MatchCandidate) -> None:
    services.candidate_reject(candidate=planted, actor=None)
    services.match_train(actor=None, seed=99)  # even with a new model version
    run = _run()
    assert run.candidates_found >= 1
    pair = MatchCandidate.objects.filter(
        customer_low=planted.customer_low, customer_high=planted.customer_high
    )
    assert pair.count() == 1
    assert pair.get().status == "rejected"
    assert not MatchCandidate.objects.filter(
        status="proposed", customer_low=planted.customer_low, customer_high=planted.customer_high
    ).exists()


def test_incremental_path_flags_a_planted_duplicate_at_once(
    population: Callable[..., list[Customer]],
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    population()
    original = create(
        identifiers=(("email", "margaret.oduya@example.org"),),
        given_name="Margaret",
        family_name="Oduya",
        date_of_birth="1985-07-21",
        street="4 Harbour Road",
        locality="Portsmouth",
        postcode="03801",
    )
    _run()
    assert not MatchCandidate.objects.filter(customer_high__gt=original.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        newcomer = create(
            identifiers=(("email", "maggie.oduya@example.com"),),
            given_name="Maggie",
            family_name="Oduya",
            date_of_birth="1985-07-21",
            street="4 Harbour Rd",
            locality="Portsmouth",
            postcode="03801",
        )
    candidate = MatchCandidate.objects.get(customer_low=original, customer_high=newcomer)
    assert candidate.source == "incremental"
    assert candidate.probability >= 0.8


def test_incremental_path_ranks_by_shared_keys_and_skips_oversized_blocks(
    population: Callable[..., list[Customer]],
    django_capture_on_commit_callbacks: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    population(60)
    original = create(
        given_name="Margaret",
        family_name="Oduya",
        date_of_birth="1985-07-21",
        street="4 Harbour Road",
        locality="Portsmouth",
        postcode="03801",
    )
    # Twelve namesakes in the same town share the "given name + locality" key with her, and
    # nothing else; seven neighbours share only the street.
    crowd = [
        create(given_name="Margaret", family_name=f"Crowd{i}", locality="Portsmouth", postcode=f"9{i:04d}")
        for i in range(12)
    ]
    for i in range(7):
        create(given_name=f"Neighbour{i}", family_name="Else", street="4 Harbour Road", locality="Leeds")
    _run()
    # Only three candidates may be read, and a key held by more than ten customers is no block.
    monkeypatch.setattr(incremental, "INCREMENTAL_CANDIDATE_LIMIT", 3)
    monkeypatch.setattr(engine, "MAX_BLOCK", 10)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        newcomer = create(
            given_name="Maggie",
            family_name="Oduya",
            date_of_birth="1985-07-21",
            street="4 Harbour Rd",
            locality="Portsmouth",
            postcode="03801",
        )
    hashes = sorted(set(engine.blocking_keys(selectors.profiles([newcomer.pk])[1][0])))
    shortlist = services._customers_sharing_keys(newcomer.pk, hashes)
    assert shortlist[0] == original.pk  # she shares the most keys
    assert len(shortlist) <= 3
    assert not {c.pk for c in crowd} & set(shortlist)  # their only shared key is an oversized block
    assert MatchCandidate.objects.filter(customer_low=original, customer_high=newcomer).exists()


def test_a_rejected_pair_is_not_flagged_again_when_the_newcomer_changes(
    population: Callable[..., list[Customer]],
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    population()
    original = create(
        given_name="Margaret", family_name="Oduya", date_of_birth="1985-07-21", street="4 Harbour Road",
        locality="Portsmouth", postcode="03801",
    )  # fmt: skip
    _run()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        newcomer = create(
            given_name="Maggie", family_name="Oduya", date_of_birth="1985-07-21", street="4 Harbour Rd",
            locality="Portsmouth", postcode="03801",
        )  # fmt: skip
    flagged = MatchCandidate.objects.get(customer_low=original, customer_high=newcomer)
    services.candidate_reject(candidate=flagged, actor=None)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        customer_services.identifier_add(
            actor=None, customer=newcomer, kind="phone", value="+44 23 9200 0000"
        )

    assert list(MatchCandidate.objects.filter(customer_high=newcomer).values_list("pk", "status")) == [
        (flagged.pk, MatchCandidate.Status.REJECTED)
    ]


def test_customer_creation_works_before_any_model_is_trained(
    db: None, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        create(given_name="Ada", family_name="Lovelace", date_of_birth="1985-12-10")
        create(given_name="Ada", family_name="Lovelace", date_of_birth="1985-12-10")
    assert Customer.objects.count() == 2
    assert MatchCandidate.objects.count() == 0


def test_automatic_merge_only_above_the_admins_threshold_and_undoable(
    population: Callable[..., list[Customer]], jonathan: Callable[[], tuple[Customer, Customer]]
) -> None:
    population()
    first, second = jonathan()
    settings = services.matching_settings()
    assert settings.auto_merge_threshold is None  # off by default
    MatchSettings.objects.filter(pk=settings.pk).update(auto_merge_threshold=0.8)
    run = _run()
    candidate = MatchCandidate.objects.get(customer_low=first, customer_high=second)
    assert run.auto_merged >= 1
    assert candidate.status == "accepted"
    assert candidate.decided_by is None
    services.candidate_merge_undo(candidate=candidate, actor=None)
    second.refresh_from_db()
    assert second.merged_into_id is None


def test_the_queue_names_both_people_ranks_certain_matches_by_weight_and_audits_the_names(
    make_user: Callable[..., User],
) -> None:
    from regard.privacy.models import AuditEntry

    people = [
        customer_services.customer_create(actor=None, preferred_name=name)
        for name in ("Ada Byron", "Ada B.", "Grace Hopper", "G. Hopper")
    ]
    now = timezone.now()
    weaker = MatchCandidate.objects.create(
        customer_low=people[0], customer_high=people[1], probability=1.0, match_weight=21.5, created_at=now
    )
    stronger = MatchCandidate.objects.create(
        customer_low=people[2], customer_high=people[3], probability=1.0, match_weight=34.0, created_at=now
    )
    reviewer = make_user(Role.AGENT)
    body = _client_for(reviewer).get("/matching/").content.decode()
    assert "Grace Hopper and G. Hopper" in body
    assert "Ada Byron and Ada B." in body
    assert body.index(f"/matching/{stronger.pk}/") < body.index(f"/matching/{weaker.pk}/")
    assert "1.0000" not in body
    assert "&gt; 99.99 %" in body
    assert "Customers " not in body
    audited = set(AuditEntry.objects.filter(actor=reviewer).values_list("customer_id", flat=True))
    assert audited == {p.pk for p in people}
