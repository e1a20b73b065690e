"""Domain errors shared by every app.

Services raise these; the API (``regard.api.errors``) and the CLI
(``regard.config.cli``) translate them into HTTP statuses and exit codes in one
place each.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class RegardError(Exception):
    """Base of every error a user can cause and should be told about."""

    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"detail": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.details)
        return body


class InvalidInput(RegardError):
    """A value does not meet its field's rules (S-invariant 7)."""

    http_status = 422


class NotFound(RegardError):
    http_status = 404


def found(value: T | None, message: str, *, field: str = "id") -> T:
    """``value``, or NotFound naming ``field`` when the lookup found nothing: every ``*_get`` ends so."""
    if value is None:
        raise NotFound(message, field=field)
    return value


class Conflict(RegardError):
    """The request contradicts what is already stored (e.g. an identifier owned by someone else)."""

    http_status = 409


class PermissionDenied(RegardError):
    http_status = 403
