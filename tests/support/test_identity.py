"""Signed identity tokens: a valid one names the customer, anything else is refused (S20)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regard.errors import InvalidInput
from regard.support.identity import identity_read, identity_token

SECRET = "site-secret-for-tests"
NOW = 1_800_000_000


def test_a_token_from_the_site_names_the_customer() -> None:
    token = identity_token(secret=SECRET, kind="email", value="ingrid@example.org", expires=NOW + 3600)
    identity = identity_read(token, secret=SECRET, now=NOW)
    assert (identity.kind, identity.value) == ("email", "ingrid@example.org")


def test_the_documented_example_verifies() -> None:
    # The example in docs/support-chat.md, computed by hand with hmac/hashlib.
    import base64
    import hashlib
    import hmac

    value = base64.urlsafe_b64encode(b"ACC-77812").rstrip(b"=").decode()
    payload = f"v1.account.{NOW + 60}.{value}"
    signature = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
    assert identity_read(f"{payload}.{signature}", secret=SECRET, now=NOW).value == "ACC-77812"


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("", "malformed"),
        ("not-a-token", "malformed"),
        ("v2.email.1800003600.aW5ncmlk.00", "version"),
        ("v1.phone.1800003600.aW5ncmlk.00", "kind"),
        ("v1.email.soon.aW5ncmlk.00", "expires"),
        ("v1.email.1800003600.aW5ncmlk.deadbeef", "signature"),
    ],
)
def test_malformed_tokens_are_refused_naming_the_field(token: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why) as caught:
        identity_read(token, secret=SECRET, now=NOW)
    assert caught.value.field == "identity"


def test_a_token_signed_with_another_secret_is_refused() -> None:
    forged = identity_token(secret="guessed", kind="email", value="ceo@example.org", expires=NOW + 60)
    with pytest.raises(InvalidInput, match="signature"):
        identity_read(forged, secret=SECRET, now=NOW)


def test_changing_the_value_breaks_the_signature() -> None:
    token = identity_token(secret=SECRET, kind="email", value="me@example.org", expires=NOW + 60)
    other = identity_token(secret=SECRET, kind="email", value="you@example.org", expires=NOW + 60)
    spliced = ".".join(other.split(".")[:4] + token.split(".")[4:])
    with pytest.raises(InvalidInput, match="signature"):
        identity_read(spliced, secret=SECRET, now=NOW)


def test_an_expired_token_is_refused() -> None:
    token = identity_token(secret=SECRET, kind="email", value="me@example.org", expires=NOW - 1)
    with pytest.raises(InvalidInput, match="expired"):
        identity_read(token, secret=SECRET, now=NOW)


def test_a_token_valid_for_months_is_refused() -> None:
    token = identity_token(secret=SECRET, kind="email", value="me@example.org", expires=NOW + 90 * 86400)
    with pytest.raises(InvalidInput, match="7 days"):
        identity_read(token, secret=SECRET, now=NOW)


def test_a_site_without_a_secret_accepts_no_identity() -> None:
    token = identity_token(secret="", kind="email", value="me@example.org", expires=NOW + 60)
    with pytest.raises(InvalidInput, match="no secret"):
        identity_read(token, secret="", now=NOW)


@given(value=st.text(min_size=1, max_size=80).filter(lambda v: v.strip() == v and v))
def test_any_value_round_trips(value: str) -> None:
    token = identity_token(secret=SECRET, kind="account", value=value, expires=NOW + 60)
    assert identity_read(token, secret=SECRET, now=NOW).value == value


@given(garbage=st.text(max_size=200))
def test_garbage_is_refused_never_crashes(garbage: str) -> None:
    with pytest.raises(InvalidInput):
        identity_read(garbage, secret=SECRET, now=NOW)


def test_the_example_token_in_the_docs_is_the_one_regard_computes() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "support-chat.md").read_text()
    token = identity_token(
        secret="s3cr3t-from-the-chat-site", kind="email", value="ingrid@example.org", expires=1_800_000_000
    )
    assert token in docs
    assert (
        identity_read(token, secret="s3cr3t-from-the-chat-site", now=1_799_999_000).value
        == "ingrid@example.org"
    )
