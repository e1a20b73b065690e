"""Integers out of range and non-ASCII digits get a 4xx naming the field, never a 500 (invariant 7).

The probe walks every GET operation of the OpenAPI document and every page with a numeric
query parameter, feeding each integer parameter values a database cannot hold (2^63 and
beyond, negative) and digits that ``str.isdigit`` accepts but ``int`` refuses ("²").
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regard.api.api import api
from regard.inputs import OFFSET_MAX
from regard.privacy.roles import Role

HOSTILE_NUMBERS = [
    "9223372036854775808",
    "18446744073709551616",
    "-9223372036854775809",
    "²",
    "1²",
    "١٢",
    "0x10",
]


def _get_operations() -> list[tuple[str, list[dict[str, Any]]]]:
    schema = api.get_openapi_schema()
    operations = []
    for path, methods in schema["paths"].items():
        if "get" in methods:
            operations.append((path, methods["get"].get("parameters", [])))
    return operations


def _is_integer(parameter: dict[str, Any]) -> bool:
    schema = parameter.get("schema", {})
    kinds = {schema.get("type")} | {option.get("type") for option in schema.get("anyOf", [])}
    return "integer" in kinds


def _fill(
    path: str, parameters: list[dict[str, Any]], hostile: str, target: str
) -> tuple[str, dict[str, str]]:
    query: dict[str, str] = {}
    for parameter in parameters:
        name = parameter["name"]
        value = hostile if name == target else ("1" if _is_integer(parameter) else "")
        if parameter["in"] == "path":
            path = path.replace("{" + name + "}", value or "x")
        elif parameter["in"] == "query" and name == target:
            query[name] = value
    return path, query


OPERATIONS = _get_operations()
TARGETS = [
    (path, parameters, parameter["name"])
    for path, parameters in OPERATIONS
    for parameter in parameters
    if _is_integer(parameter)
]


def test_the_probe_reaches_integer_parameters() -> None:
    # A probe that found nothing to feed would pass for the wrong reason.
    assert len(TARGETS) >= 10


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "parameters", "target"), TARGETS, ids=[f"{p}:{t}" for p, _, t in TARGETS])
def test_every_integer_api_parameter_refuses_hostile_numbers(
    api_for: Any, path: str, parameters: list[dict[str, Any]], target: str
) -> None:
    client = api_for(Role.ADMIN)
    for hostile in HOSTILE_NUMBERS:
        url, query = _fill("/api/v1" + path, parameters, hostile, target)
        response = client.get(url, **query)
        assert response.status_code < 500, (url, query, response.status_code)
        if response.status_code in (400, 422) and response.headers.get("Content-Type", "").startswith(
            "application/json"
        ):
            assert target in response.content.decode(), (url, query, response.content[:300])


PAGES = [
    ("/customers/", "q"),
    ("/support/", "offset"),
    ("/support/", "customer"),
    ("/support/calls/new", "customer"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "parameter"), PAGES)
def test_pages_refuse_hostile_numbers(make_user: Any, path: str, parameter: str) -> None:
    client = Client()
    client.force_login(make_user(Role.ADMIN))
    for hostile in HOSTILE_NUMBERS:
        response = client.get(path, {parameter: hostile})
        assert response.status_code < 500, (path, parameter, hostile, response.status_code)


@pytest.mark.django_db
# The client only reads, so sharing it across examples is safe.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)
@given(number=st.one_of(st.integers(min_value=OFFSET_MAX + 1, max_value=2**80), st.integers(max_value=-1)))
def test_list_offsets_out_of_range_are_refused_by_name(admin_api_client: Any, number: int) -> None:
    for path in ("customers", "match-candidates", "conversations"):
        response = admin_api_client.get(path, offset=str(number))
        assert response.status_code == 422, (path, number, response.status_code)
        assert "offset" in response.content.decode()


@pytest.fixture
def admin_api_client(api_for: Any) -> Any:
    return api_for(Role.ADMIN)


def test_hostile_numbers_cover_unicode_digits() -> None:
    assert any(
        not re.fullmatch(r"[0-9]+", value.lstrip("-")) and value.isdigit() for value in HOSTILE_NUMBERS
    )
