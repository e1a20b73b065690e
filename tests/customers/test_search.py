"""Search finds a customer in the forms an agent types what the customer said (C1, C8)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from regard.privacy.roles import Role
from tests.customers.factories import make_customer, make_order, unique

pytestmark = pytest.mark.django_db


def found(api: Any, query: str) -> dict[int, str]:
    response = api.get("customers", q=query)
    assert response.status_code == 200, response.content
    return {item["id"]: item["matched"] for item in response.json()["items"]}


@pytest.mark.parametrize("quoted", ["0151 23456789", "0049151 23456789", "015123456789", "+49 151 23456789"])
def test_a_national_or_international_form_finds_the_number_in_the_customers_country(
    agent_api: Any, settings: Any, quoted: str
) -> None:
    settings.REGARD_DEFAULT_PHONE_REGION = "US"  # the server's region is not the customer's
    anna = make_customer(preferred_name="Anna", country="DE", identifiers=[("phone", "+49 151 23456789")])
    assert found(agent_api, quoted) == {anna.pk: "phone +49 151 23456789"}


def test_a_national_form_is_read_only_for_customers_of_that_country(agent_api: Any, settings: Any) -> None:
    settings.REGARD_DEFAULT_PHONE_REGION = "US"
    # A German number on file for someone recorded as living in France: "0151 …" is how
    # a German dials it, not a French caller, so the national form does not reach her.
    make_customer(preferred_name="Zoé", country="FR", identifiers=[("phone", "+49 151 23456780")])
    assert found(agent_api, "0151 23456780") == {}
    assert len(found(agent_api, "+49 151 23456780")) == 1


@pytest.mark.parametrize("quoted", ["10002", "r10002", "R 10002", "R-10002", "r-10002"])
def test_an_order_number_is_found_with_or_without_its_prefix(agent_api: Any, quoted: str) -> None:
    suffix = unique()
    number = f"R-1000{suffix}"
    buyer = make_customer(preferred_name="Buyer")
    make_order(customer=buyer, order_number=number)
    other = make_customer(preferred_name="Other")
    make_order(customer=other, order_number=f"R-11000{suffix}")  # ends in the same digits
    query = quoted.replace("10002", f"1000{suffix}")
    assert found(agent_api, query) == {buyer.pk: f"order {number}"}


def test_part_of_an_order_number_finds_nobody(agent_api: Any) -> None:
    make_order(customer=make_customer(), order_number="R-20004")
    assert found(agent_api, "0004") == {}


@pytest.mark.parametrize("quoted", ["Weber, Anna", "weber anna", "Anna Weber", "WEBER"])
def test_a_name_is_found_in_any_order_of_its_words(agent_api: Any, quoted: str) -> None:
    anna = make_customer(preferred_name="Anna", given_name="Anna", family_name="Weber")
    make_customer(preferred_name="Anna", family_name="Schmidt")
    assert found(agent_api, quoted) == {anna.pk: "name"}


def test_german_names_are_found_with_and_without_umlauts(agent_api: Any) -> None:
    with_umlaut = make_customer(preferred_name="Jörg", family_name="Müller")
    written_out = make_customer(preferred_name="Joerg", family_name="Mueller")
    both = {with_umlaut.pk: "name", written_out.pk: "name"}
    for query in ("Müller", "Mueller", "Jörg Mueller", "joerg müller"):
        assert found(agent_api, query) == both, query
    assert found(agent_api, "muller") == {with_umlaut.pk: "name"}  # a plain u is not an umlaut


def test_the_search_page_says_what_matched(client: Any, make_user: Any, settings: Any) -> None:
    settings.REGARD_DEFAULT_PHONE_REGION = "US"
    make_customer(preferred_name="Anna", country="DE", identifiers=[("phone", "+49 151 23456781")])
    client.force_login(make_user(Role.AGENT))
    page = client.get(reverse("customers:search"), {"q": "0151 23456781"})
    assert page.status_code == 200
    assert "Found by" in page.content.decode()
    assert "phone +49 151 23456781" in page.content.decode()


def test_a_search_costs_the_same_few_queries_whatever_it_may_mean(
    agent_api: Any, django_assert_max_num_queries: Any
) -> None:
    make_customer(preferred_name="Anna", country="DE", identifiers=[("phone", "+49 151 23456782")])
    # Token (read, touch), roles, one identifier lookup for every reading of the query, the
    # customers, the audit row (in a savepoint), their identifiers: 9, however many readings.
    with django_assert_max_num_queries(9):
        assert len(found(agent_api, "0151 23456782")) == 1
