"""What an event's type may look like: shared by the events API and journey triggers."""

from __future__ import annotations

import re

from regard.errors import InvalidInput

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


def clean_event_type(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 64 or not EVENT_TYPE.match(value):
        raise InvalidInput(
            "type: 1–64 lower-case letters, digits, '_' and '.', e.g. cart_abandoned or web.visit.",
            field="type",
        )
    return value
