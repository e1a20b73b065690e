"""Signed identity tokens: a visitor signed in on the company's site is recognised in chat (S20).

The site's backend, which knows who is signed in, writes a token into the widget's
``data-identity`` attribute. Regard checks it with the chat site's secret and never asks
the visitor who they are. The format (docs/support-chat.md has examples)::

    v1.<kind>.<expires>.<value>.<signature>

    kind       "email" or "account"
    expires    Unix time (seconds) after which the token is refused; at most 7 days ahead
    value      the customer's email address or account id, base64url without padding (UTF-8)
    signature  hex HMAC-SHA256 with the site's secret over everything before the last dot

The token carries no secret and changes nothing by itself: it only says which existing
identifier the visitor holds. A token that is malformed, forged, or expired is refused
with an ``InvalidInput`` naming the ``identity`` field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass

from regard.errors import InvalidInput
from regard.inputs import is_whole_number

VERSION = "v1"
KINDS = ("email", "account")
MAX_LIFETIME_SECONDS = 7 * 24 * 3600
MAX_TOKEN_LENGTH = 1024
FIELD = "identity"


@dataclass(frozen=True)
class Identity:
    kind: str
    value: str
    expires: int


def _b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).rstrip(b"=").decode()


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def identity_token(*, secret: str, kind: str, value: str, expires: int) -> str:
    """What the site's backend computes (Regard uses it for the demo shop and tests)."""
    if kind not in KINDS:
        raise InvalidInput(f"kind: must be one of {', '.join(KINDS)}.", field="kind")
    payload = f"{VERSION}.{kind}.{int(expires)}.{_b64(value)}"
    return f"{payload}.{_sign(secret, payload)}"


def _refuse(why: str) -> InvalidInput:
    return InvalidInput(f"identity: {why}", field=FIELD)


def identity_read(token: str, *, secret: str, now: float | None = None) -> Identity:
    """The identity a token vouches for, or ``InvalidInput`` saying why it is refused."""
    if not secret:
        raise _refuse("this site does not accept identity tokens (it has no secret).")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise _refuse("the token is too long or not text.")
    parts = token.strip().split(".")
    if len(parts) != 5:
        raise _refuse("the token is malformed: expected v1.<kind>.<expires>.<value>.<signature>.")
    version, kind, expires_text, encoded, signature = parts
    if version != VERSION:
        raise _refuse(f"unknown token version '{version[:10]}' (expected {VERSION}).")
    if kind not in KINDS:
        raise _refuse(f"kind must be one of {', '.join(KINDS)}.")
    if not is_whole_number(expires_text):
        raise _refuse("expires must be a Unix time in seconds.")
    expected = _sign(secret, f"{version}.{kind}.{expires_text}.{encoded}")
    # Compare the signature before looking any further, in constant time.
    if not hmac.compare_digest(expected, signature.lower()):
        raise _refuse("the signature does not match this site's secret.")
    expires = int(expires_text)
    current = time.time() if now is None else now
    if expires <= current:
        raise _refuse("the token has expired; the site must issue a new one.")
    if expires > current + MAX_LIFETIME_SECONDS:
        raise _refuse("the token is valid for more than 7 days; issue short-lived tokens.")
    try:
        value = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _refuse("the value is not base64url-encoded UTF-8.") from None
    value = value.strip()
    if not value or len(value) > 320:
        raise _refuse("the value is empty or longer than 320 characters.")
    return Identity(kind=kind, value=value, expires=expires)
