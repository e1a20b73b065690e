"""The one place where errors become HTTP responses for the API (invariant 7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from regard.errors import InvalidInput, RegardError

SchemaT = TypeVar("SchemaT", bound=Schema)

_LOCATION_PREFIXES = {"body", "query", "path", "header", "cookie", "form", "file"}


def field_path(location: list[Any] | tuple[Any, ...]) -> str:
    parts = list(location)
    if parts and parts[0] in _LOCATION_PREFIXES:
        parts = parts[1:]
        if parts and parts[0] == "payload":
            parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


def schema_parse(schema: type[SchemaT], data: Mapping[str, Any]) -> SchemaT:
    """Form values through the API's own schema, so a page and the API accept the same input;
    the first problem becomes InvalidInput naming the field as the API would (invariant 7)."""
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        field = field_path(first["loc"])
        raise InvalidInput(f"{field}: {first['msg']}", field=field) from None


def install(api: NinjaAPI) -> None:
    @api.exception_handler(RegardError)
    def domain_error(request: HttpRequest, error: RegardError) -> HttpResponse:
        return api.create_response(request, error.as_dict(), status=error.http_status)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
        problems = [
            {"field": field_path(e.get("loc", ())), "message": str(e.get("msg", "invalid"))}
            for e in error.errors
        ]
        first = problems[0] if problems else {"field": "body", "message": "invalid"}
        body = {
            "detail": f"{first['field']}: {first['message']}",
            "field": first["field"],
            "errors": problems,
        }
        return api.create_response(request, body, status=422)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
        response = api.create_response(
            request,
            {"detail": "Authentication required: send 'Authorization: Bearer <token>'."},
            status=401,
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
        return api.create_response(request, {"detail": str(error)}, status=error.status_code)
