"""Invariant 7: bad input gets a 4xx naming the field, and nothing at all is written."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from regard.customers.models import (
    Customer,
    Identifier,
    MergeRecord,
    Order,
    OrderLine,
    Product,
    TimelineEvent,
)
from regard.privacy.models import AuditEntry
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db

COUNTED = (Customer, Identifier, TimelineEvent, AuditEntry, Order, OrderLine, Product, MergeRecord)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.fixture
def nothing_written() -> Iterator[None]:
    """Asserts, after the test, that no table gained or lost a row."""
    before = row_counts()
    yield
    assert row_counts() == before


def assert_names_field(response: Any, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["field"] == field, body
    if status == 422:
        assert body["detail"].startswith(field), body
    return body


@pytest.fixture
def owner() -> Customer:
    return make_customer(
        preferred_name="Owner",
        identifiers=[("email", "taken@example.org"), ("phone", "+49 30 55501234")],
    )


@pytest.fixture
def client(agent_api: Any, owner: Customer, nothing_written: None) -> Any:
    """The agent's client, created before the row count is taken."""
    return agent_api


def valid_customer(**changes: Any) -> dict[str, Any]:
    return {
        "preferred_name": "Nina",
        "identifiers": [{"kind": "email", "value": f"nina{unique()}@example.org"}],
    } | changes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"identifiers": [{"kind": "email", "value": "nina@@example"}]}, "identifiers[0].value"),
        (
            {"identifiers": [{"kind": "email", "value": "ok@example.org"}, {"kind": "phone", "value": "12"}]},
            "identifiers[1].value",
        ),
        ({"identifiers": [{"kind": "phone", "value": "call me maybe"}]}, "identifiers[0].value"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"language": "not a language"}, "language"),
        ({"address": {"country": "XX"}}, "address.country"),
        ({"date_of_birth": "1990-02-30"}, "date_of_birth"),
        ({"date_of_birth": "next tuesday"}, "date_of_birth"),
        ({"date_of_birth": (timezone.now() + timedelta(days=2)).date().isoformat()}, "date_of_birth"),
        ({"formality": "chummy"}, "formality"),
        ({"identifiers": [{"kind": "fax", "value": "+49 30 1234567"}]}, "identifiers[0].kind"),
        ({"identifiers": [{"kind": "chat", "value": "   "}]}, "identifiers[0].value"),
        ({"preferred_name": ""}, "preferred_name"),
        ({"preferred_name": "x" * 201}, "preferred_name"),
        ({"locality": "Berlin"}, "locality"),  # belongs under address
    ],
)
def test_creating_a_customer_with_a_bad_field_names_it_and_writes_nothing(
    client: Any, changes: dict[str, Any], field: str
) -> None:
    assert_names_field(client.post("customers", valid_customer(**changes)), 422, field)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"preferred_name": "Ni\x00na"}, "preferred_name"),
        ({"address": {"street": "Main St\x00"}}, "address.street"),
        ({"identifiers": [{"kind": "chat", "value": "visitor\x0042"}]}, "identifiers[0].value"),
    ],
)
def test_nul_characters_are_refused_rather_than_crashing_the_database(
    client: Any, changes: dict[str, Any], field: str
) -> None:
    assert_names_field(client.post("customers", valid_customer(**changes)), 422, field)


def test_a_nul_character_in_a_search_or_lookup_is_harmless(client: Any) -> None:
    assert client.get("customers", q="Own\x00er").status_code == 200
    assert_names_field(client.get("customers/resolve", kind="chat", value="a\x00b"), 422, "value")


def test_a_customer_without_a_preferred_name_is_refused(client: Any) -> None:
    payload = valid_customer()
    del payload["preferred_name"]
    assert_names_field(client.post("customers", payload), 422, "preferred_name")


def test_an_identifier_of_another_customer_is_a_conflict_naming_it_and_its_owner(
    client: Any, owner: Customer
) -> None:
    payload = valid_customer(
        identifiers=[
            {"kind": "email", "value": f"fresh{unique()}@example.org"},
            {"kind": "phone", "value": "+49 (30) 555-01234"},
        ]
    )
    body = assert_names_field(client.post("customers", payload), 409, "identifiers")
    assert body["customer_id"] == owner.pk
    assert body["identifier"] == {"kind": "phone", "value": "+493055501234"}
    assert "+493055501234" in body["detail"]
    assert str(owner.pk) in body["detail"]


def test_adding_another_customers_identifier_is_a_conflict(agent_api: Any, owner: Customer) -> None:
    nina = make_customer(preferred_name="Nina")
    before = row_counts()
    response = agent_api.post(
        f"customers/{nina.pk}/identifiers", {"kind": "email", "value": "TAKEN@example.org"}
    )
    body = assert_names_field(response, 409, "identifiers")
    assert body["customer_id"] == owner.pk
    assert row_counts() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "email", "value": "no-at-sign"}, "value"),
        ({"kind": "pager", "value": "123"}, "kind"),
        ({"kind": "email"}, "value"),
    ],
)
def test_adding_a_bad_identifier_names_the_field(
    client: Any, owner: Customer, payload: dict[str, Any], field: str
) -> None:
    assert_names_field(client.post(f"customers/{owner.pk}/identifiers", payload), 422, field)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "Europe/Atlantis"}, "time_zone"),
        ({"language": "12345"}, "language"),
        ({"address": {"country": "Germany"}}, "address.country"),
        ({"date_of_birth": "1800-01-01"}, "date_of_birth"),
        ({"preferred_name": None}, "preferred_name"),
        ({"nickname": "Nini"}, "nickname"),
    ],
)
def test_patching_a_bad_field_names_it_and_changes_nothing(
    client: Any, owner: Customer, changes: dict[str, Any], field: str
) -> None:
    assert_names_field(client.patch(f"customers/{owner.pk}", changes), 422, field)
    assert Customer.objects.get(pk=owner.pk).updated_at == owner.updated_at


def test_a_patch_with_one_good_and_one_bad_field_applies_neither(client: Any, owner: Customer) -> None:
    response = client.patch(f"customers/{owner.pk}", {"given_name": "Otto", "time_zone": "Nowhere/Land"})
    assert_names_field(response, 422, "time_zone")
    assert Customer.objects.get(pk=owner.pk).given_name == ""


def order(customer: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "customer": customer,
        "order_number": f"BAD-{unique()}",
        "purchased_at": (timezone.now() - timedelta(days=1)).isoformat(),
        "currency": "EUR",
        "lines": [{"sku": "EAR-40", "quantity": 1, "unit_price": "79.00"}],
    } | changes


def test_an_order_for_an_unknown_customer_is_a_404(client: Any) -> None:
    assert_names_field(client.post("orders", order({"id": 424242})), 404, "customer.id")
    assert_names_field(
        client.post("orders", order({"kind": "email", "value": "stranger@example.org"})),
        404,
        "customer.value",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"purchased_at": "2024-05-01T10:00:00"}, "purchased_at"),  # no offset: which 10 o'clock?
        ({"purchased_at": "yesterday"}, "purchased_at"),
        ({"currency": "E1R"}, "currency"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "EAR-40", "quantity": 0, "unit_price": "79.00"}]}, "lines[0].quantity"),
        ({"lines": [{"sku": "EAR-40", "quantity": 1, "unit_price": "-1"}]}, "lines[0].unit_price"),
        ({"order_number": ""}, "order_number"),
    ],
)
def test_a_bad_order_names_the_field_and_writes_nothing(
    client: Any, owner: Customer, changes: dict[str, Any], field: str
) -> None:
    assert_names_field(client.post("orders", order({"id": owner.pk}, **changes)), 422, field)


def test_an_order_without_a_customer_reference_is_refused(client: Any) -> None:
    assert_names_field(client.post("orders", order({})), 422, "customer")


def test_a_duplicate_order_number_is_a_conflict(agent_api: Any, owner: Customer) -> None:
    first = agent_api.post("orders", order({"id": owner.pk}, order_number="SO-DUP-1"))
    assert first.status_code == 201, first.content
    other = make_customer()
    before = row_counts()
    body = assert_names_field(
        agent_api.post("orders", order({"id": other.pk}, order_number="SO-DUP-1")), 409, "order_number"
    )
    assert body["customer_id"] == owner.pk
    assert row_counts() == before


def test_a_cursor_the_api_never_issued_is_refused(client: Any, owner: Customer) -> None:
    for cursor in ("not-a-cursor", "WzEsMl0", "eyJ4IjogMX0"):
        assert_names_field(client.get(f"customers/{owner.pk}/timeline", cursor=cursor), 422, "cursor")


def test_out_of_range_paging_is_refused(client: Any, owner: Customer) -> None:
    assert_names_field(client.get(f"customers/{owner.pk}/timeline", limit=0), 422, "limit")
    assert_names_field(client.get("customers", q="x", limit=1000), 422, "limit")


def test_resolve_with_an_unknown_kind_names_it(client: Any) -> None:
    assert_names_field(client.get("customers/resolve", kind="fax", value="123"), 422, "kind")


def test_a_body_that_is_not_json_is_refused(agent_api: Any, nothing_written: None) -> None:
    response = agent_api.client.post(
        "/api/v1/customers", data="{not json", content_type="application/json", headers=agent_api.headers
    )
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()


def test_token_create_for_an_unknown_user_fails_with_one_line(nothing_written: None) -> None:
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("token", "create", "--user", "nobody")


def test_the_regard_command_exits_non_zero_with_one_line_for_an_unknown_user(tmp_path: Path) -> None:
    env = os.environ | {"REGARD_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "regard.config.settings"}
    env.pop("DATABASE_URL", None)
    regard = Path(sys.executable).with_name("regard")
    subprocess.run([str(regard), "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=300)
    result = subprocess.run(
        [str(regard), "token", "create", "--user", "nobody"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == ["CommandError: No user named 'nobody'."]


def test_order_for_a_customer_named_by_a_malformed_identifier_names_the_customer_field(agent_api) -> None:
    response = agent_api.post(
        "orders",
        {
            "customer": {"kind": "email", "value": "not-an-address"},
            "order_number": "R-1",
            "purchased_at": "2026-01-02T10:00:00+00:00",
            "currency": "EUR",
            "lines": [{"sku": "S-1", "quantity": 1, "unit_price": "1.00"}],
        },
    )
    assert response.status_code == 422
    assert response.json()["field"] == "customer.value"
    assert response.json()["detail"].startswith("customer.value: ")


def test_order_record_refuses_a_profile_that_was_merged_away(db) -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from regard.customers import services
    from regard.customers.models import Order
    from regard.errors import Conflict

    survivor = services.customer_create(actor=None, preferred_name="Kept")
    absorbed = services.customer_create(actor=None, preferred_name="Gone")
    services.customer_merge(survivor=survivor, absorbed=absorbed, actor=None)
    absorbed.refresh_from_db()
    with pytest.raises(Conflict) as raised:
        services.order_record(
            actor=None,
            customer=absorbed,
            order_number="R-2",
            purchased_at=datetime(2026, 1, 2, tzinfo=UTC),
            currency="EUR",
            lines=[services.OrderLineInput(sku="S-1", quantity=1, unit_price=Decimal("1.00"))],
        )
    assert raised.value.details["customer_id"] == survivor.pk
    assert not Order.objects.exists()
