"""The one way an identifier becomes a suppression key (shared with partners, C2/S5)."""

from __future__ import annotations

import hashlib

from regard.customers import normalise


def identifier_hash(normalised_value: str) -> str:
    return hashlib.sha256(normalised_value.encode("utf-8")).hexdigest()


def hash_raw(kind: str, value: str, *, field: str = "value") -> str:
    return identifier_hash(normalise.normalise_identifier(kind, value, field=field))
