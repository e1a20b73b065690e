"""The OpenAPI document lists the error answers each operation can give, not only its successes."""

from __future__ import annotations

from typing import Any

import pytest

from regard.api.api import api
from regard.privacy.roles import Role


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return api.get_openapi_schema()


def test_every_signed_in_operation_documents_401_and_403(schema: dict[str, Any]) -> None:
    operations = [op for methods in schema["paths"].values() for op in methods.values()]
    secured = [op for op in operations if op.get("security")]
    assert len(secured) > 30
    for operation in secured:
        assert {"401", "403"} <= {str(c) for c in operation["responses"]}, operation["operationId"]


def test_inputs_paths_and_writes_document_their_errors(schema: dict[str, Any]) -> None:
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            codes = {str(code) for code in operation["responses"]}
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= codes, (method, path)
            if method in {"post", "put", "patch", "delete"}:
                assert "409" in codes, (method, path)
            assert any(code.startswith("2") for code in codes), (method, path)


def test_error_answers_point_at_the_error_shape(schema: dict[str, Any]) -> None:
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]
    create = schema["paths"]["/api/v1/customers"]["post"]["responses"][422]
    assert create["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


@pytest.mark.django_db
def test_a_documented_422_has_the_documented_shape(api_for: Any) -> None:
    response = api_for(Role.ADMIN).get("customers", offset="-1")
    assert response.status_code == 422
    body = response.json()
    assert set(body) <= set(api.get_openapi_schema()["components"]["schemas"]["Error"]["properties"])
    assert body["field"] == "offset"
