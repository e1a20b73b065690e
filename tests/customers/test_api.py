"""The customers API as an integrator and an agent meet it (C1, C8, S20)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from regard.customers.models import Customer, Identifier, TimelineEvent
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db


def order_payload(customer: dict[str, Any], number: str, **extra: Any) -> dict[str, Any]:
    return {
        "customer": customer,
        "order_number": number,
        "purchased_at": (timezone.now() - timedelta(days=60)).isoformat(),
        "currency": "eur",
        "lines": [
            {"sku": "EAR-40", "name": "Earphones", "category": "audio", "quantity": 1, "unit_price": "79.00"},
            {"sku": "CASE-1", "name": "Case", "category": "accessories", "quantity": 2, "unit_price": "9.50"},
        ],
        **extra,
    }


def test_create_a_customer_with_everything_we_know(agent_api: Any) -> None:
    response = agent_api.post(
        "customers",
        {
            "preferred_name": "Dr Weber",
            "formality": "formal",
            "salutation": "Dr",
            "given_name": "Anna",
            "family_name": "Weber",
            "date_of_birth": "1980-02-29",
            "address": {
                "street": "Hauptstraße 1",
                "locality": "Berlin",
                "postcode": "10115",
                "country": "de",
            },
            "language": "de-ch",
            "time_zone": "Europe/Berlin",
            "identifiers": [
                {"kind": "email", "value": "  Anna.Weber@Example.ORG "},
                {"kind": "phone", "value": "+49 (30) 1234-5678"},
                {"kind": "social", "value": "@AnnaW"},
            ],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["greeting"] == "Dear Dr Weber"
    assert body["address"]["country"] == "DE"
    assert body["language"] == "de-CH"
    assert body["date_of_birth"] == "1980-02-29"
    assert {(i["kind"], i["value"]) for i in body["identifiers"]} == {
        ("email", "anna.weber@example.org"),
        ("phone", "+493012345678"),
        ("social", "annaw"),
    }
    assert Customer.objects.get(pk=body["id"]).family_name == "Weber"


def test_get_answers_404_for_an_unknown_customer(agent_api: Any) -> None:
    response = agent_api.get("customers/999999")
    assert response.status_code == 404
    assert response.json()["field"] == "id"


def test_patch_changes_only_what_was_sent(agent_api: Any) -> None:
    anna = make_customer(preferred_name="Anna", locality="Berlin", country="DE", time_zone="Europe/Berlin")
    response = agent_api.patch(f"customers/{anna.pk}", {"address": {"country": "at", "locality": "Wien"}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["address"]["country"], body["address"]["locality"]) == ("AT", "Wien")
    assert (body["preferred_name"], body["time_zone"]) == ("Anna", "Europe/Berlin")
    event = TimelineEvent.objects.filter(customer=anna).first()
    assert event.kind == "customer.updated"
    assert "address.country" in event.summary


def test_patch_can_clear_a_date_of_birth_but_not_the_preferred_name(agent_api: Any) -> None:
    anna = make_customer(preferred_name="Anna", date_of_birth="1990-01-01")
    assert agent_api.patch(f"customers/{anna.pk}", {"date_of_birth": None}).json()["date_of_birth"] is None
    refused = agent_api.patch(f"customers/{anna.pk}", {"preferred_name": None})
    assert refused.status_code == 422
    assert refused.json()["field"] == "preferred_name"
    assert Customer.objects.get(pk=anna.pk).preferred_name == "Anna"


def test_search_by_name_ignores_case_and_accents(agent_api: Any) -> None:
    muller = make_customer(preferred_name="Jürgen", family_name="Müller")
    make_customer(preferred_name="Someone else")
    for query in ("müller", "MULLER", "Muller", "jurgen m"):
        found = [item["id"] for item in agent_api.get("customers", q=query).json()["items"]]
        assert found == [muller.pk], query


@pytest.mark.parametrize(
    ("kind", "stored", "quoted"),
    [
        ("email", "Kim.Lee@Example.org", "kim.lee@EXAMPLE.org"),
        ("phone", "+44 20 7946 0018", "+442079460018"),
        ("account", "ACC-778 812", "acc-778 812"),
    ],
)
def test_search_finds_a_customer_by_any_identifier_as_quoted(
    agent_api: Any, kind: str, stored: str, quoted: str
) -> None:
    kim = make_customer(preferred_name="Kim", identifiers=[(kind, stored)])
    found = [item["id"] for item in agent_api.get("customers", q=quoted).json()["items"]]
    assert found == [kim.pk]


def test_search_pages_through_many_matches_without_repeats(agent_api: Any) -> None:
    family = f"Fernández{unique()}"
    ids = {make_customer(preferred_name=f"F {n}", family_name=family).pk for n in range(7)}
    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = agent_api.get("customers", q=family, limit=3, offset=offset).json()
        seen.extend(item["id"] for item in page["items"])
        offset = page["next_offset"]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


def test_search_does_not_show_profiles_that_were_merged_away(agent_api: Any) -> None:
    survivor = make_customer(preferred_name="Olga Petrova")
    absorbed = make_customer(preferred_name="Olga P.")
    agent_api.post(f"customers/{survivor.pk}/merge", {"absorbed_id": absorbed.pk})
    found = [item["id"] for item in agent_api.get("customers", q="olga").json()["items"]]
    assert found == [survivor.pk]


@pytest.mark.parametrize(
    ("kind", "stored", "quoted"),
    [
        ("phone", "+49 151 23456789", "+49 (151) 234-567 89"),
        ("phone", "+1 (415) 555-2671", "415.555.2671"),  # default region US
        ("email", "Ola@Example.ORG", "  OLA@example.org"),
        ("social", "@Ola_N", "ola_n"),
        ("order", "SO-1001", " so-1001 "),
    ],
)
def test_resolve_normalises_the_quoted_value_the_same_way(
    agent_api: Any, kind: str, stored: str, quoted: str
) -> None:
    ola = make_customer(preferred_name="Ola", identifiers=[(kind, stored)])
    response = agent_api.get("customers/resolve", kind=kind, value=quoted)
    assert response.status_code == 200, response.content
    assert response.json()["id"] == ola.pk


def test_resolve_answers_404_for_an_identifier_nobody_has(agent_api: Any) -> None:
    response = agent_api.get("customers/resolve", kind="email", value="nobody@example.org")
    assert response.status_code == 404
    assert "nobody@example.org" in response.json()["detail"]


def test_add_an_identifier_then_find_the_person_by_it(agent_api: Any) -> None:
    anna = make_customer(preferred_name="Anna")
    response = agent_api.post(f"customers/{anna.pk}/identifiers", {"kind": "chat", "value": "Visitor-42"})
    assert response.status_code == 201, response.content
    assert response.json()["value"] == "visitor-42"
    assert agent_api.get("customers/resolve", kind="chat", value="VISITOR-42").json()["id"] == anna.pk
    # Adding what the person already has changes nothing.
    again = agent_api.post(f"customers/{anna.pk}/identifiers", {"kind": "chat", "value": "visitor-42"})
    assert again.status_code == 201
    assert Identifier.objects.filter(customer=anna, kind="chat").count() == 1


def test_an_order_by_customer_id_becomes_an_order_identifier(agent_api: Any) -> None:
    anna = make_customer(preferred_name="Anna")
    response = agent_api.post("orders", order_payload({"id": anna.pk}, "SO-77"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["customer_id"], body["currency"], len(body["lines"])) == (anna.pk, "EUR", 2)
    # S20: quoting the order number on any channel finds the person.
    assert agent_api.get("customers/resolve", kind="order", value="so-77").json()["id"] == anna.pk
    assert agent_api.get("customers", q="SO-77").json()["items"][0]["id"] == anna.pk


def test_an_order_by_identifier_lands_on_its_owner(agent_api: Any) -> None:
    anna = make_customer(preferred_name="Anna", identifiers=[("email", "anna.orders@example.org")])
    response = agent_api.post(
        "orders", order_payload({"kind": "email", "value": "ANNA.orders@example.org"}, f"SO-{unique()}")
    )
    assert response.status_code == 201, response.content
    assert response.json()["customer_id"] == anna.pk


def test_the_timeline_is_newest_first_and_pages_without_gaps_or_repeats(agent_api: Any) -> None:
    anna = make_customer(preferred_name="Anna")
    now = timezone.now()
    # Several events share a timestamp, so the cursor must break ties.
    for n in range(23):
        agent_api.post(
            "orders",
            order_payload(
                {"id": anna.pk}, f"TL-{unique()}", purchased_at=(now - timedelta(hours=n // 3)).isoformat()
            ),
        )
    expected = list(
        TimelineEvent.objects.filter(customer=anna)
        .order_by("-occurred_at", "-id")
        .values_list("id", flat=True)
    )
    assert len(expected) == 24

    seen: list[int] = []
    occurred: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        page = agent_api.get(f"customers/{anna.pk}/timeline", **params).json()
        pages += 1
        seen.extend(item["id"] for item in page["items"])
        occurred.extend(item["occurred_at"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 5
    assert occurred == sorted(occurred, reverse=True)


def test_merge_and_undo_over_the_api(agent_api: Any) -> None:
    survivor = make_customer(preferred_name="Anna", identifiers=[("email", f"a{unique()}@example.org")])
    absorbed = make_customer(
        preferred_name="Anna W.", locality="Berlin", identifiers=[("phone", f"+49 30 {30000000 + unique()}")]
    )
    merged = agent_api.post(f"customers/{survivor.pk}/merge", {"absorbed_id": absorbed.pk})
    assert merged.status_code == 201, merged.content
    merge = merged.json()
    assert merge["moved"] == {"customers.identifier.customer": 1}
    assert merge["survivor_fields_filled"] == ["locality"]
    assert agent_api.get(f"customers/{absorbed.pk}").json()["merged_into"] == survivor.pk
    timeline = agent_api.get(f"customers/{survivor.pk}/timeline").json()["items"]
    assert {item["customer_id"] for item in timeline} == {survivor.pk, absorbed.pk}

    undone = agent_api.post(f"merges/{merge['id']}/undo")
    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_at"] is not None
    assert agent_api.get(f"customers/{absorbed.pk}").json()["merged_into"] is None
    assert agent_api.get(f"customers/{survivor.pk}").json()["address"]["locality"] == ""

    again = agent_api.post(f"merges/{merge['id']}/undo")
    assert again.status_code == 409
    assert "already undone" in again.json()["detail"]


def test_merging_a_customer_into_itself_is_refused(agent_api: Any) -> None:
    anna = make_customer()
    response = agent_api.post(f"customers/{anna.pk}/merge", {"absorbed_id": anna.pk})
    assert response.status_code == 422
    assert response.json()["field"] == "absorbed_id"


def test_undoing_chained_merges_in_the_wrong_order_names_the_merge_to_undo_first(agent_api: Any) -> None:
    a, b, c = make_customer(), make_customer(), make_customer()
    first = agent_api.post(f"customers/{a.pk}/merge", {"absorbed_id": b.pk}).json()
    second = agent_api.post(f"customers/{c.pk}/merge", {"absorbed_id": a.pk}).json()
    response = agent_api.post(f"merges/{first['id']}/undo")
    assert response.status_code == 409
    assert response.json()["merge_id"] == second["id"]
    assert f"undo merge {second['id']} first" in response.json()["detail"]


def test_merging_an_unknown_customer_is_a_404(agent_api: Any) -> None:
    anna = make_customer()
    response = agent_api.post(f"customers/{anna.pk}/merge", {"absorbed_id": 987654})
    assert response.status_code == 404
    assert response.json()["field"] == "absorbed_id"


@pytest.mark.parametrize(
    ("language", "salutation", "family_name", "greeting"),
    [
        ("en", "様", "佐藤", "Dear 佐藤様"),  # an English page names her as she is addressed
        ("ja", "様", "佐藤", "佐藤様"),
        ("de", "님", "김", "Guten Tag 김님"),
        ("en", "Ms", "Weber", "Dear Ms Weber"),
        ("de", "Frau", "Weber", "Guten Tag Frau Weber"),
    ],
)
def test_an_honorific_that_follows_the_name_is_written_after_it(
    language: str, salutation: str, family_name: str, greeting: str
) -> None:
    from django.utils import translation

    customer = make_customer(
        preferred_name="", formality="formal", salutation=salutation, family_name=family_name
    )
    with translation.override(language):
        assert customer.greeting == greeting
