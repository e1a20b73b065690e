"""Whole numbers from outside, read one way everywhere (invariant 7).

``str.isdigit`` accepts "²" and "١٢", which ``int`` then refuses or reads as a number nobody
typed; a database integer stops at 2^63 - 1 and an offset past a billion pages is no page.
Every number a person or a client types goes through ``whole_number`` (or the API's
``OFFSET_MAX`` bound), so bad input is a 4xx naming the field, never a 500.
"""

from __future__ import annotations

import re

from regard.errors import InvalidInput

BIGINT_MAX = 2**63 - 1
# No list is a billion rows deep; the bound keeps OFFSET + LIMIT inside a database integer.
OFFSET_MAX = 1_000_000_000
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def is_whole_number(raw: str, *, maximum: int = BIGINT_MAX) -> bool:
    """True for ASCII digits only, with a value from 0 to ``maximum``."""
    return bool(_ASCII_DIGITS.fullmatch(raw)) and int(raw) <= maximum


def whole_number(raw: str, *, field: str, minimum: int = 0, maximum: int = BIGINT_MAX) -> int:
    raw = raw.strip()
    if not _ASCII_DIGITS.fullmatch(raw):
        raise InvalidInput(f"{field}: a whole number written with the digits 0–9.", field=field)
    value = int(raw)
    if not minimum <= value <= maximum:
        raise InvalidInput(f"{field}: a whole number from {minimum} to {maximum}.", field=field)
    return value
