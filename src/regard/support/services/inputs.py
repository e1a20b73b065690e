"""What every support service checks its text and choices against (a 4xx naming the field)."""

from __future__ import annotations

from django.db import models

from regard.errors import InvalidInput

MAX_SUBJECT = 300
MAX_BODY = 200_000


def _clean_choice(value: str, choices: type[models.TextChoices], field: str) -> str:
    allowed: list[str] = list(choices.values)
    if value not in allowed:
        raise InvalidInput(f"{field}: '{value}' is not one of {', '.join(allowed)}.", field=field)
    return value


def _clean_text(value: str, *, field: str, limit: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: must be text.", field=field)
    if "\x00" in value:
        raise InvalidInput(f"{field}: must not contain NUL characters.", field=field)
    if required and not value.strip():
        raise InvalidInput(f"{field}: must not be empty.", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field}: longer than {limit} characters.", field=field)
    return value
