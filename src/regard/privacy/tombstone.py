"""The erasure tombstone (Art. 17): keyed hashes of an erased person's identifiers, and the check.

Every way a person comes in asks here: the API's customer create and identifier add, the
CSV import, support mail, chat and the web form (which may still create a profile: the
person must be able to ask), the partner suppression check (S5) and the outbox gate (no
marketing to a tombstoned address until a consent with fresh proof is recorded after the
erasure).

The hash is HMAC-SHA256 with a server key over the SHA-256 hex of the normalised identifier
(see ``privacy.models.Tombstone`` for why over the SHA-256). The key is
``REGARD_TOMBSTONE_KEY`` or, when that is empty, derived from ``SECRET_KEY``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from django.conf import settings

from regard.errors import Conflict
from regard.privacy.models import Tombstone

# Said to whoever tries to add an erased person again: it names no one (the caller gave the value).
ERASED_MESSAGE = "This person asked to be erased; record a new consent with proof to add them again."


@lru_cache(maxsize=4)
def _key(configured: str, secret_key: str) -> bytes:
    if configured:
        return configured.encode("utf-8")
    # A key of its own, so the tombstone is not keyed with the very bytes that sign sessions.
    return hmac.new(secret_key.encode("utf-8"), b"regard.privacy.tombstone", hashlib.sha256).digest()


def tombstone_key() -> bytes:
    return _key(settings.REGARD_TOMBSTONE_KEY, settings.SECRET_KEY)


def keyed_hash_of_sha256(sha256_hex: str) -> str:
    """The tombstone key of an identifier given as the SHA-256 hex partners use (S5)."""
    return hmac.new(tombstone_key(), sha256_hex.lower().encode("ascii"), hashlib.sha256).hexdigest()


def keyed_hash(normalised_value: str) -> str:
    """The tombstone key of a normalised identifier (``customers.normalise``)."""
    # The SHA-256 of consent.hashing.identifier_hash, the key partners share (S5); computed here
    # so that customers, below consent, can ask the tombstone (a test pins the two agree).
    return keyed_hash_of_sha256(hashlib.sha256(normalised_value.encode("utf-8")).hexdigest())


def tombstoned_since(normalised_values: Iterable[str]) -> dict[str, datetime]:
    """normalised value → when it was (last) erased, for those of ``normalised_values`` tombstoned."""
    by_hash = {keyed_hash(value): value for value in set(normalised_values) if value}
    found: dict[str, datetime] = {}
    wanted = list(by_hash)
    for start in range(0, len(wanted), 500):
        rows = Tombstone.objects.filter(key_hash__in=wanted[start : start + 500])
        for key_hash, erased_at in rows.values_list("key_hash", "erased_at"):
            found[by_hash[key_hash]] = erased_at
    return found


def is_tombstoned(normalised_value: str) -> bool:
    return bool(tombstoned_since([normalised_value]))


def tombstoned_sha256(sha256_hexes: Iterable[str]) -> set[str]:
    """Which of these SHA-256 hashes (as partners send them) belong to an erased person (S5)."""
    by_hash = {keyed_hash_of_sha256(h): h.lower() for h in set(sha256_hexes)}
    found: set[str] = set()
    wanted = list(by_hash)
    for start in range(0, len(wanted), 500):
        rows = Tombstone.objects.filter(key_hash__in=wanted[start : start + 500])
        found.update(by_hash[h] for h in rows.values_list("key_hash", flat=True))
    return found


def ensure_not_tombstoned(normalised_values: Iterable[str], *, field: str = "identifiers") -> None:
    """Refuse to (re-)create an erased person: 409 with a reason that identifies no one (Art. 17)."""
    if tombstoned_since(normalised_values):
        raise Conflict(ERASED_MESSAGE, field=field, reason="erased")


def tombstone_write(*, identifiers: Iterable[tuple[str, str]], now: datetime) -> int:
    """Record (kind, normalised value) pairs as erased at ``now``; a second erasure moves the time on."""
    pairs = {keyed_hash(value): kind for kind, value in identifiers if value}
    existing = set(Tombstone.objects.filter(key_hash__in=list(pairs)).values_list("key_hash", flat=True))
    Tombstone.objects.filter(key_hash__in=list(existing)).update(erased_at=now)
    Tombstone.objects.bulk_create(
        Tombstone(key_hash=key_hash, kind=kind, erased_at=now)
        for key_hash, kind in pairs.items()
        if key_hash not in existing
    )
    return len(pairs)
