"""Invariant 5: a merge moves everything the absorbed profile owned, and undo restores it exactly."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regard.customers import ownership, selectors, services
from regard.customers.models import Customer, Identifier, MergeRecord, Order, TimelineEvent
from regard.errors import Conflict, InvalidInput
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, make_order, unique

# Everything a person is, except the bookkeeping of when the row was last written.
CUSTOMER_FIELDS = [f.attname for f in Customer._meta.concrete_fields if f.attname != "updated_at"]


@pytest.fixture
def agent(make_user: Any) -> Any:
    return make_user(Role.AGENT)


def read_timeline(*, actor: Any, customer: Customer) -> list[tuple[int, str, str]]:
    """The whole timeline as an agent sees it, page by page."""
    events: list[tuple[int, str, str]] = []
    cursor = None
    while True:
        page = selectors.timeline_page(actor=actor, customer=customer, cursor=cursor, limit=7)
        events.extend((e.pk, e.kind, e.subject_id) for e in page.events)
        if page.next_cursor is None:
            return events
        cursor = page.next_cursor


def snapshot(*, actor: Any, customer_id: int) -> dict[str, Any]:
    customer = Customer.objects.get(pk=customer_id)
    return {
        "fields": {name: getattr(customer, name) for name in CUSTOMER_FIELDS},
        "identifiers": sorted(
            Identifier.objects.filter(customer_id=customer_id).values_list(
                "pk", "kind", "value_raw", "value_normalised", "source", "first_seen_at"
            )
        ),
        "orders": sorted(Order.objects.filter(customer_id=customer_id).values_list("pk", flat=True)),
        "timeline": read_timeline(actor=actor, customer=customer),
    }


def _without_merge_events(
    timeline: list[tuple[int, str, str]], merge: MergeRecord
) -> list[tuple[int, str, str]]:
    return [
        event
        for event in timeline
        if not (event[1] in {"customer.merged", "customer.unmerged"} and event[2] == str(merge.pk))
    ]


IDENTIFIER_KINDS = ["email", "phone", "chat", "account", "social", "external"]
TEXT_CHOICES = {
    "preferred_name": ["Anna", "Dr Weber", "Jürgen"],
    "salutation": ["Ms", "Dr", "Frau"],
    "given_name": ["Anna", "Björn", "Siobhán"],
    "family_name": ["Müller", "Ó Briain", "Nakamura"],
    "street": ["Hauptstraße 1", "1 Main St"],
    "locality": ["Berlin", "Cork"],
    "postcode": ["10115", "T12"],
    "region": ["Berlin", "Munster"],
    "country": ["DE", "IE", "JP"],
}


def _raw_identifier(kind: str) -> str:
    n = unique()
    return {
        "email": f"Person.{n}@Example.org",
        "phone": f"+49 30 {10000000 + n}",
        "chat": f"visitor-{n}",
        "account": f"ACC {n}",
        "social": f"@handle{n}",
        "external": f"ext-{n}",
    }[kind]


@st.composite
def customer_specs(draw: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {
        name: draw(st.one_of(st.just(""), st.sampled_from(choices))) for name, choices in TEXT_CHOICES.items()
    }
    profile["date_of_birth"] = draw(st.one_of(st.none(), st.dates(date(1930, 1, 1), date(2005, 12, 31))))
    profile["language"] = draw(st.sampled_from(["en", "de", "ja"]))
    return {
        "profile": profile,
        "identifier_kinds": draw(st.lists(st.sampled_from(IDENTIFIER_KINDS), max_size=4)),
        "order_lines": draw(st.lists(st.integers(1, 3), max_size=3)),
    }


def build(spec: dict[str, Any]) -> Customer:
    customer = make_customer(
        identifiers=[(kind, _raw_identifier(kind)) for kind in spec["identifier_kinds"]], **spec["profile"]
    )
    for index, lines in enumerate(spec["order_lines"]):
        make_order(customer=customer, lines=lines, purchased_at=timezone.now() - timedelta(days=10 + index))
    return customer


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(survivor_spec=customer_specs(), absorbed_spec=customer_specs())
def test_merge_moves_everything_and_undo_restores_both_profiles_exactly(
    agent: Any, survivor_spec: dict[str, Any], absorbed_spec: dict[str, Any]
) -> None:
    with transaction.atomic():
        survivor, absorbed = build(survivor_spec), build(absorbed_spec)
        before = {
            "survivor": snapshot(actor=agent, customer_id=survivor.pk),
            "absorbed": snapshot(actor=agent, customer_id=absorbed.pk),
        }

        merge = services.customer_merge(survivor=survivor, absorbed=absorbed, actor=agent)

        merged = snapshot(actor=agent, customer_id=survivor.pk)
        # Every identifier and order the absorbed profile had now belongs to the survivor.
        assert merged["identifiers"] == sorted(
            before["survivor"]["identifiers"] + before["absorbed"]["identifiers"]
        )
        assert merged["orders"] == sorted(before["survivor"]["orders"] + before["absorbed"]["orders"])
        assert not Identifier.objects.filter(customer=absorbed).exists()
        assert not Order.objects.filter(customer=absorbed).exists()
        # The survivor's timeline shows both histories.
        merged_event_ids = {event[0] for event in merged["timeline"]}
        for party in ("survivor", "absorbed"):
            assert {event[0] for event in before[party]["timeline"]} <= merged_event_ids
        # Whatever the absorbed profile quoted still finds the person.
        for _, kind, raw, *_ in before["absorbed"]["identifiers"]:
            assert selectors.customer_resolve(kind=kind, value=raw) == survivor
        # Blanks on the survivor are filled from the absorbed profile; nothing known is overwritten.
        for name in services.PROFILE_FIELDS:
            mine, theirs = before["survivor"]["fields"][name], before["absorbed"]["fields"][name]
            expected = theirs if mine in ("", None) and theirs not in ("", None) else mine
            assert merged["fields"][name] == expected, name
        assert Customer.objects.get(pk=absorbed.pk).merged_into_id == survivor.pk

        services.merge_undo(merge=merge, actor=agent)

        for party, customer in (("survivor", survivor), ("absorbed", absorbed)):
            after = snapshot(actor=agent, customer_id=customer.pk)
            assert after["fields"] == before[party]["fields"], party
            assert after["identifiers"] == before[party]["identifiers"], party
            assert after["orders"] == before[party]["orders"], party
            assert _without_merge_events(after["timeline"], merge) == before[party]["timeline"], party
            # The only new entries are this merge and its undo, on this profile's own timeline.
            new_kinds = [e[1] for e in after["timeline"] if e not in before[party]["timeline"]]
            assert new_kinds == ["customer.unmerged", "customer.merged"], party
        transaction.set_rollback(True)


@pytest.fixture
def merged_pair(agent: Any) -> tuple[Customer, Customer, MergeRecord]:
    survivor = make_customer(preferred_name="Anna", identifiers=[("email", f"anna{unique()}@example.org")])
    absorbed = make_customer(preferred_name="Anna M.", identifiers=[("phone", _raw_identifier("phone"))])
    merge = services.customer_merge(survivor=survivor, absorbed=absorbed, actor=agent)
    return survivor, absorbed, merge


@pytest.mark.django_db
def test_undoing_a_merge_twice_is_a_conflict(agent: Any, merged_pair: Any) -> None:
    _, _, merge = merged_pair
    services.merge_undo(merge=merge, actor=agent)
    identifiers_after_first_undo = sorted(Identifier.objects.values_list("pk", "customer_id"))
    with pytest.raises(Conflict, match="already undone"):
        services.merge_undo(merge=merge, actor=agent)
    assert sorted(Identifier.objects.values_list("pk", "customer_id")) == identifiers_after_first_undo
    assert TimelineEvent.objects.filter(kind="customer.unmerged").count() == 2


@pytest.mark.django_db
def test_chained_merges_must_be_undone_newest_first(agent: Any) -> None:
    a, b, c = (make_customer(identifiers=[("chat", _raw_identifier("chat"))]) for _ in range(3))
    b_chat = Identifier.objects.get(customer=b)
    a_absorbs_b = services.customer_merge(survivor=a, absorbed=b, actor=agent)
    c_absorbs_a = services.customer_merge(survivor=c, absorbed=a, actor=agent)
    # C's timeline reaches B's history through A (each merge told once, by its survivor's copy).
    c_timeline = {e[0] for e in read_timeline(actor=agent, customer=c)}
    b_history = TimelineEvent.objects.filter(customer=b).exclude(kind="customer.merged")
    assert set(b_history.values_list("pk", flat=True)) <= c_timeline
    assert Identifier.objects.get(pk=b_chat.pk).customer_id == c.pk

    with pytest.raises(Conflict) as refused:
        services.merge_undo(merge=a_absorbs_b, actor=agent)
    assert f"merge {c_absorbs_a.pk}" in refused.value.message.lower()
    assert refused.value.details["merge_id"] == c_absorbs_a.pk
    assert MergeRecord.objects.get(pk=a_absorbs_b.pk).undone_at is None
    assert Identifier.objects.get(pk=b_chat.pk).customer_id == c.pk

    services.merge_undo(merge=c_absorbs_a, actor=agent)
    assert Identifier.objects.get(pk=b_chat.pk).customer_id == a.pk
    services.merge_undo(merge=a_absorbs_b, actor=agent)
    assert Identifier.objects.get(pk=b_chat.pk).customer_id == b.pk
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


@pytest.mark.django_db
def test_a_customer_cannot_be_merged_into_itself(agent: Any) -> None:
    anna = make_customer(identifiers=[("chat", _raw_identifier("chat"))])
    with pytest.raises(InvalidInput, match="itself"):
        services.customer_merge(survivor=anna, absorbed=anna, actor=agent)
    assert MergeRecord.objects.count() == 0


@pytest.mark.django_db
def test_an_absorbed_profile_cannot_absorb_or_be_absorbed_again(agent: Any, merged_pair: Any) -> None:
    survivor, absorbed, _ = merged_pair
    other = make_customer()
    with pytest.raises(Conflict, match=f"already merged into customer {survivor.pk}"):
        services.customer_merge(survivor=other, absorbed=absorbed, actor=agent)
    with pytest.raises(Conflict, match=f"already merged into customer {survivor.pk}"):
        services.customer_merge(survivor=absorbed, absorbed=other, actor=agent)
    assert MergeRecord.objects.count() == 1


@pytest.mark.django_db
def test_a_profile_that_was_merged_away_takes_no_new_data_and_names_the_survivor(
    admin_api: Any, merged_pair: Any
) -> None:
    survivor, absorbed, _ = merged_pair
    before = sorted(Identifier.objects.values_list("pk", "customer_id"))
    added = admin_api.post(f"customers/{absorbed.pk}/identifiers", {"kind": "chat", "value": "late-visitor"})
    assert added.status_code == 409
    assert added.json()["customer_id"] == survivor.pk
    patched = admin_api.patch(f"customers/{absorbed.pk}", {"given_name": "Anna"})
    assert patched.status_code == 409
    assert patched.json()["customer_id"] == survivor.pk
    assert sorted(Identifier.objects.values_list("pk", "customer_id")) == before
    assert Customer.objects.get(pk=absorbed.pk).given_name == ""


@pytest.mark.django_db
def test_undo_keeps_a_field_the_agent_corrected_after_the_merge(agent: Any) -> None:
    survivor = make_customer(preferred_name="Anna", locality="")
    absorbed = make_customer(preferred_name="Anna M.", locality="Berlin")
    merge = services.customer_merge(survivor=survivor, absorbed=absorbed, actor=agent)
    assert Customer.objects.get(pk=survivor.pk).locality == "Berlin"
    services.customer_update(
        actor=agent, customer=Customer.objects.get(pk=survivor.pk), changes={"locality": "Potsdam"}
    )
    services.merge_undo(merge=merge, actor=agent)
    assert Customer.objects.get(pk=survivor.pk).locality == "Potsdam"


@pytest.mark.django_db
def test_an_order_for_a_profile_merged_twice_over_lands_on_the_final_survivor(admin_api: Any) -> None:
    a, b, c = (make_customer(identifiers=[("account", _raw_identifier("account"))]) for _ in range(3))
    assert admin_api.post(f"customers/{a.pk}/merge", {"absorbed_id": b.pk}).status_code == 201
    assert admin_api.post(f"customers/{c.pk}/merge", {"absorbed_id": a.pk}).status_code == 201
    response = admin_api.post(
        "orders",
        {
            "customer": {"id": b.pk},
            "order_number": f"late-{unique()}",
            "purchased_at": timezone.now().isoformat(),
            "currency": "EUR",
            "lines": [{"sku": "EAR-1", "quantity": 1, "unit_price": "49.00"}],
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["customer_id"] == c.pk


@pytest.fixture
def loyalty_cards(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A model the customers app does not know, owned by a customer the way a later app's would be."""

    class LoyaltyCard(models.Model):  # noqa: DJ008
        customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
        number = models.CharField(max_length=20)

        class Meta:
            app_label = "customers"
            db_table = "test_loyalty_card"

    monkeypatch.setattr(ownership, "_registry", dict(ownership._registry))
    with connection.schema_editor() as editor:
        editor.create_model(LoyaltyCard)
    ownership.register_customer_owned(LoyaltyCard)
    yield LoyaltyCard
    with connection.schema_editor() as editor:
        editor.delete_model(LoyaltyCard)
    # Forget the model again, so nothing else in the session (flush, migrations checks) sees it.
    del apps.all_models["customers"]["loyaltycard"]
    apps.clear_cache()


def test_rows_of_a_registered_model_follow_the_merge_and_come_back_on_undo(
    loyalty_cards: Any, make_user: Any
) -> None:
    agent = make_user(Role.AGENT)
    survivor, absorbed = make_customer(), make_customer()
    mine = loyalty_cards.objects.create(customer=survivor, number="S-1")
    theirs = [loyalty_cards.objects.create(customer=absorbed, number=f"A-{n}") for n in range(3)]

    merge = services.customer_merge(survivor=survivor, absorbed=absorbed, actor=agent)
    assert set(loyalty_cards.objects.filter(customer=survivor).values_list("pk", flat=True)) == {
        mine.pk,
        *(card.pk for card in theirs),
    }
    assert merge.moved["customers.loyaltycard.customer"] == [card.pk for card in theirs]

    services.merge_undo(merge=merge, actor=agent)
    assert list(loyalty_cards.objects.filter(customer=survivor).values_list("pk", flat=True)) == [mine.pk]
    assert sorted(loyalty_cards.objects.filter(customer=absorbed).values_list("pk", flat=True)) == [
        card.pk for card in theirs
    ]


def test_registering_something_that_is_not_owned_by_a_customer_is_refused() -> None:
    with pytest.raises(TypeError, match="not a foreign key to Customer"):
        ownership.register_customer_owned(apps.get_model("customers", "OrderLine"), "order")


@pytest.mark.django_db
def test_the_survivors_timeline_tells_each_merge_once_even_across_a_chain() -> None:
    from regard.customers import selectors, services
    from regard.privacy.roles import Role
    from regard.privacy.services import user_create

    agent = user_create(username="merge-reader", password=None, roles=[Role.AGENT])
    first = services.customer_create(actor=None, preferred_name="B")
    middle = services.customer_create(actor=None, preferred_name="A")
    last = services.customer_create(actor=None, preferred_name="C")
    services.customer_merge(survivor=middle, absorbed=first, actor=None)
    services.customer_merge(survivor=last, absorbed=middle, actor=None)

    page = selectors.timeline_page(actor=agent, customer=last)
    merges = [e for e in page.events if e.kind == "customer.merged"]
    assert sorted(e.summary for e in merges) == [
        f"Profiles {first.pk} merged into {middle.pk}",
        f"Profiles {middle.pk} merged into {last.pk}",
    ]
    # Viewed on its own, the absorbed profile still says it was merged away.
    own = selectors.timeline_page(actor=agent, customer=middle)
    assert f"Profiles {middle.pk} merged into {last.pk}" in [e.summary for e in own.events]
