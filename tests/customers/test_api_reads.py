"""The two hottest API reads: a fixed number of queries, merges followed, every read audited."""

from __future__ import annotations

from typing import Any

import pytest

from regard.customers import services
from regard.privacy.models import AuditEntry
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db

# token, the agent's roles, customer with the first level of its merge group, timeline, and the
# audit row (in a savepoint under the test's transaction: savepoint, insert, release).
TIMELINE_QUERIES = 7
# token, the agent's roles, identifier with its customer, the audit row (savepoint, insert,
# release), the customer's identifiers for the answer.
RESOLVE_QUERIES = 7


def test_the_timeline_costs_a_fixed_number_of_queries_and_is_audited(
    agent_api: Any, django_assert_num_queries: Any
) -> None:
    customer = make_customer(preferred_name="Tove")
    agent_api.get(f"customers/{customer.pk}/timeline")  # the token's last use is noted once a minute

    with django_assert_num_queries(TIMELINE_QUERIES):
        response = agent_api.get(f"customers/{customer.pk}/timeline")

    assert response.status_code == 200
    assert [e["kind"] for e in response.json()["items"]] == ["customer.created"]
    assert (
        AuditEntry.objects.filter(customer_id=customer.pk, object_type="timeline", action="read").count() == 2
    )


def test_the_timeline_of_an_unknown_customer_is_404_naming_the_id(agent_api: Any) -> None:
    response = agent_api.get("customers/987654/timeline")

    assert response.status_code == 404
    assert response.json()["field"] == "id"
    assert not AuditEntry.objects.filter(object_type="timeline").exists()


def test_the_timeline_follows_merges_at_any_depth(agent_api: Any) -> None:
    survivor, middle, oldest = (make_customer(preferred_name=name) for name in ("A", "B", "C"))
    services.customer_merge(survivor=middle, absorbed=oldest, actor=None)
    services.customer_merge(survivor=survivor, absorbed=middle, actor=None)

    items = agent_api.get(f"customers/{survivor.pk}/timeline", limit=200).json()["items"]

    assert {e["customer_id"] for e in items} == {survivor.pk, middle.pk, oldest.pk}


def test_resolve_costs_a_fixed_number_of_queries_and_is_audited(
    agent_api: Any, django_assert_num_queries: Any
) -> None:
    customer = make_customer(preferred_name="Tove", identifiers=[("email", "tove@example.org")])
    agent_api.get("customers/resolve", kind="email", value="tove@example.org")

    with django_assert_num_queries(RESOLVE_QUERIES):
        response = agent_api.get("customers/resolve", kind="email", value=" Tove@Example.org ")

    assert response.status_code == 200
    assert response.json()["id"] == customer.pk
    assert (
        AuditEntry.objects.filter(customer_id=customer.pk, object_type="customer", action="read").count() == 2
    )


def test_resolving_an_unknown_identifier_is_404_and_audits_nothing(agent_api: Any) -> None:
    response = agent_api.get("customers/resolve", kind="email", value="nobody@example.org")

    assert response.status_code == 404
    assert response.json()["field"] == "value"
    assert not AuditEntry.objects.filter(action="read").exists()
