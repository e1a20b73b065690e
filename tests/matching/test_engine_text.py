"""The engine's string helpers against the plain definitions they replace (speed must not change results)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from regard.matching import engine

# The definitions, written the obvious way.
NOT_MAILBOX = re.compile(r"[._-]|[+@].*", re.DOTALL)
HOUSE_NUMBER = re.compile(r"\d+[a-z]?(?= )")

address_text = st.text(alphabet=st.sampled_from("ab.+-_@z9é٣ "), max_size=20) | st.emails()
street_text = st.text(alphabet=st.sampled_from("0123456789abz ٣²é"), max_size=12).map(engine.clean_text)


@given(address_text)
def test_mailbox_is_the_local_part_without_dots_dashes_underscores_or_tag(address: str) -> None:
    assert engine.mailbox(address) == NOT_MAILBOX.sub("", address)


@given(street_text)
def test_house_number_is_the_leading_number_with_an_optional_letter(street: str) -> None:
    found = HOUSE_NUMBER.match(street)
    assert engine.house_number(street) == (found.group(0) if found else "")


def test_house_number_examples() -> None:
    assert engine.house_number("12a main street") == "12a"
    assert engine.house_number("12 main street") == "12"
    assert engine.house_number("12ab main street") == ""
    assert engine.house_number("main street 12") == ""
    assert engine.house_number("12") == ""
