"""Invariant 6 for the API: every route wants a token, and the right role, before it reads anything.

The routes come from the OpenAPI document, so a route added later is covered without
anyone remembering to list it here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from regard.api.api import api
from regard.customers import services
from regard.privacy.models import AuditEntry
from regard.privacy.roles import PERMISSION_MATRIX, Capability, Role
from tests.conftest import ApiClient
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db

SCHEMA = api.get_openapi_schema()
OPERATIONS = sorted(
    (method.upper(), path)
    for path, methods in SCHEMA["paths"].items()
    for method in methods
    if method in {"get", "post", "put", "patch", "delete"}
)


def _declared_capabilities() -> dict[str, Capability | None]:
    """What each route's ``auth=requires(...)`` asks for, by OpenAPI operation id."""
    declared: dict[str, Capability | None] = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                auth = next(iter(operation.auth_callbacks), None)
                declared[api.get_openapi_operation_id(operation)] = getattr(auth, "capability", None)
    return declared


DECLARED = _declared_capabilities()


def capability_for(method: str, path: str) -> Capability:
    operation_id = SCHEMA["paths"][path][method.lower()]["operationId"]
    capability = DECLARED[operation_id]
    assert capability is not None, f"{method} {path} declares no capability: give it auth=requires(...)"
    return capability


def roles_refused(method: str, path: str) -> list[Role]:
    return [role for role in Role if role not in PERMISSION_MATRIX[capability_for(method, path)]]


@pytest.fixture
def existing_ids(make_user: Any) -> dict[str, int]:
    """Real ids for the path parameters, so a refusal cannot be a 404 in disguise."""
    survivor = make_customer(identifiers=[("email", f"kept{unique()}@example.org")])
    absorbed = make_customer()
    merge = services.customer_merge(survivor=survivor, absorbed=absorbed, actor=None)
    return {"customer_id": survivor.pk, "merge_id": merge.pk}


def concrete(path: str, ids: dict[str, int]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)


def call(client: ApiClient, method: str, path: str) -> Any:
    if method == "GET":
        return client.get(path)
    return client._call(method.lower(), path, {})


def test_the_served_openapi_document_lists_the_routes_checked_here() -> None:
    served = Client().get("/api/v1/openapi.json").json()["paths"]
    assert sorted((m.upper(), p) for p, ms in served.items() for m in ms) == OPERATIONS
    assert len(OPERATIONS) >= 9


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_route_answers_401_without_a_token(
    method: str, path: str, existing_ids: dict[str, int]
) -> None:
    audit_before = AuditEntry.objects.count()
    response = call(ApiClient(None), method, concrete(path, existing_ids))
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Bearer"
    assert "detail" in response.json()
    assert AuditEntry.objects.count() == audit_before


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_route_answers_401_for_a_token_nobody_issued(
    method: str, path: str, existing_ids: dict[str, int]
) -> None:
    response = call(ApiClient("rg_not-a-real-token"), method, concrete(path, existing_ids))
    assert response.status_code == 401, response.content


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_route_answers_403_for_a_role_without_the_capability(
    method: str, path: str, existing_ids: dict[str, int], api_for: Any
) -> None:
    refused = roles_refused(method, path)
    assert refused, f"{path} is open to every role; say so here if that is intended"
    for role in refused:
        client = api_for(role)
        audit_before = AuditEntry.objects.count()
        # An empty body: the role is refused before the request is even looked at.
        response = call(client, method, concrete(path, existing_ids))
        assert response.status_code == 403, (role, response.content)
        assert capability_for(method, path).value in response.json()["detail"]
        assert AuditEntry.objects.count() == audit_before, f"{role} left an audit trail of a refused read"


def test_customer_routes_refuse_marketers_and_analysts_and_the_audit_refuses_agents() -> None:
    for method, path in OPERATIONS:
        # The audit log, erasure (Art. 17, cannot be undone) and a person's whole data in one
        # archive (Art. 15/20) are for admins alone.
        if path.startswith("/api/v1/audit") or path.endswith("/erase") or "/export" in path:
            assert set(roles_refused(method, path)) == set(Role) - {Role.ADMIN}, path
        elif path.startswith(("/api/v1/customers", "/api/v1/orders", "/api/v1/merges")):
            refused = set(roles_refused(method, path))
            assert {Role.MARKETER, Role.ANALYST} <= refused, path
            assert Role.AGENT not in refused, path


def test_a_revoked_token_is_refused(make_user: Any) -> None:
    from regard.privacy.services import token_create, token_revoke

    user = make_user(Role.AGENT)
    issued = token_create(username=user.get_username())
    client = ApiClient(issued.secret)
    assert client.get("customers", q="x").status_code == 200
    token_revoke(token=issued.token)
    assert client.get("customers", q="x").status_code == 401


def test_an_inactive_users_token_is_refused(make_user: Any) -> None:
    from regard.privacy.services import token_create

    user = make_user(Role.AGENT)
    client = ApiClient(token_create(username=user.get_username()).secret)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get("customers", q="x").status_code == 401
