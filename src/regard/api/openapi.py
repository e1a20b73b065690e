"""The OpenAPI document names every answer an operation can give, errors included.

Ninja documents the success codes it is told; the error answers come from one place
(``regard.api.errors``) and follow from the operation's shape, so they are added here from
that shape: a signed-in route can answer 401 and 403, a route with input 422, a path with
an id or an input naming another record by id 404, a write 409, a body 400 (unreadable
JSON) and 413 (over the size limit).
"""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What is wrong, naming the field first"},
        "field": {"type": "string", "description": "The field the error is about, when there is one"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "required": ["detail"],
}

DESCRIPTIONS = {
    "400": "The body is not readable JSON",
    "401": "No valid bearer token",
    "403": "The token's role does not allow this",
    "404": "No such record",
    "409": "The request contradicts what is stored",
    "413": "The body is larger than this address accepts",
    "422": "A value does not meet its field's rules; `field` names it",
}

_WRITES = {"post", "put", "patch", "delete"}


def _names_a_record(value: Any, components: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    """Whether a schema has a property that points at a record by id (``customer_id``,
    ``customer.id``), which can name one that does not exist."""
    if isinstance(value, list):
        return any(_names_a_record(v, components, seen) for v in value)
    if not isinstance(value, dict):
        return False
    reference = value.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/components/schemas/"):
        name = reference.rsplit("/", 1)[1]
        return name not in seen and _names_a_record(components.get(name), components, seen | {name})
    properties = value.get("properties")
    if isinstance(properties, dict) and any(key == "id" or key.endswith("_id") for key in properties):
        return True
    return any(_names_a_record(v, components, seen) for k, v in value.items() if k != "$ref")


def error_codes_for(
    method: str, path: str, operation: dict[str, Any], components: dict[str, Any] | None = None
) -> list[str]:
    codes: list[str] = []
    if operation.get("security"):
        codes += ["401", "403"]
    has_body = "requestBody" in operation
    if has_body:
        codes += ["400", "413"]
    if operation.get("parameters") or has_body:
        codes.append("422")
    names_a_record = any(
        p.get("in") == "query" and str(p.get("name", "")).endswith("_id")
        for p in operation.get("parameters", ())
    ) or _names_a_record(operation.get("requestBody"), components or {})
    if "{" in path or names_a_record:
        codes.append("404")
    if method in _WRITES:
        codes.append("409")
    return sorted(set(codes))


def document_error_answers(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            responses = operation.setdefault("responses", {})
            documented = {str(code) for code in responses}  # ninja keys its own codes by int
            for code in error_codes_for(method, path, operation, components):
                if code not in documented:
                    responses[int(code)] = {"description": DESCRIPTIONS[code], "content": reference}
    return schema


class RegardAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_error_answers(schema)
