"""Regard's relaxed canonicalisation (used to sign through OpenSSL) is dkimpy's, byte for byte."""

from __future__ import annotations

from dkim.canonicalization import Relaxed
from hypothesis import given
from hypothesis import strategies as st

from regard.outreach.dkim_keys import relaxed_body, relaxed_headers

# Bodies and header values built from the characters canonicalisation cares about.
pieces = st.lists(
    st.sampled_from([b"a", b"Z", b"=", b" ", b"  ", b"\t", b"\r\n", b"\r\n ", b"\r\n\r\n", b"."])
)
texts = pieces.map(b"".join)


@given(texts)
def test_body_canonicalisation_matches_dkimpy(body: bytes) -> None:
    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


@given(
    st.lists(
        st.tuples(st.sampled_from([b"Subject", b"To ", b"FROM", b"List-Unsubscribe"]), texts), max_size=6
    )
)
def test_header_canonicalisation_matches_dkimpy(headers: list[tuple[bytes, bytes]]) -> None:
    assert relaxed_headers(headers) == Relaxed.canonicalize_headers(headers)
