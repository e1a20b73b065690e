"""What a search box query may mean, in the forms people actually type (C1, C8).

An agent types what the customer said: "0151 23456789" for a number on file as
+49 151 23456789, "10002" for order R-10002, "Weber, Anna" or "Mueller" for Müller.
These functions turn one query into the name tokens and identifier values to look
for; `selectors.customer_search` runs them as one query and says which one matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from django.conf import settings

from regard.customers import normalise
from regard.errors import RegardError

# Digits with the punctuation people put in phone numbers, and enough digits to be one.
_PHONE_LIKE = re.compile(r"\+?[\d\s()./\-]+")
_MIN_PHONE_DIGITS = 6
# "R-10002", "r10002", "R 10002", "10002": a letter prefix, an optional separator, digits.
_ORDER_LIKE = re.compile(r"([a-z]*)[\s\-/#]?(\d{3,})")
# German spellings without umlauts, both ways: "Mueller" finds Müller and "Müller" finds Mueller.
_UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue"}
_UMLAUTS_WRITTEN_OUT = {"ae": "a", "oe": "o", "ue": "u"}


@dataclass(frozen=True)
class PhoneCandidate:
    """An E.164 number the query may mean, and the countries whose customers it is read for.

    An empty ``countries`` means "anyone's": the query was international, or read in the
    default region. A national form ("0151 …") is read in each country and only matches a
    customer of that country, so "0151 23456789" does not find an Austrian +43 151 23456789.
    """

    e164: str
    countries: frozenset[str]


@dataclass(frozen=True)
class OrderCandidate:
    exact: frozenset[str]
    # A bare number ("10002") matches the digits after any prefix (R-10002, WEB-10002).
    number_suffix: str | None


def name_variants(query: str) -> list[set[str]]:
    """One set of spellings per word, every word required: "Weber, Anna" finds Anna Weber."""
    return [_spellings(word) for word in query.replace(",", " ").split() if normalise.search_key(word)]


def _spellings(word: str) -> set[str]:
    key = normalise.search_key(word)
    written_in = key
    for long, short in _UMLAUTS_WRITTEN_OUT.items():
        written_in = written_in.replace(long, short)
    written_out = word.casefold()
    for umlaut, spelled in _UMLAUTS.items():
        written_out = written_out.replace(umlaut, spelled)
    return {key, written_in, normalise.search_key(written_out)}


def phone_candidates(query: str) -> list[PhoneCandidate]:
    """Every number the query may be, read in the default region and in every country."""
    text = query.strip()
    if not _PHONE_LIKE.fullmatch(text) or sum(c.isdigit() for c in text) < _MIN_PHONE_DIGITS:
        return []
    default = settings.REGARD_DEFAULT_PHONE_REGION
    if text.startswith("+"):
        e164 = _read_in(text, default)
        return [PhoneCandidate(e164, frozenset())] if e164 else []
    anyone: set[str] = set()
    by_number: dict[str, set[str]] = {}
    for region in _regions(default):
        e164 = _read_in(text, region)
        if e164 is None:
            continue
        if region == default:
            anyone.add(e164)
        else:
            by_number.setdefault(e164, set()).add(region)
    candidates = [PhoneCandidate(e164, frozenset()) for e164 in sorted(anyone)]
    candidates += [
        PhoneCandidate(e164, frozenset(regions))
        for e164, regions in sorted(by_number.items())
        if e164 not in anyone
    ]
    return candidates


@lru_cache(maxsize=8)
def _regions(default: str) -> tuple[str, ...]:
    return (default, *sorted(phonenumbers.SUPPORTED_REGIONS - {default}))


def _read_in(text: str, region: str) -> str | None:
    try:
        return normalise.normalise_phone(text, region=region)
    except RegardError:
        return None


def order_candidate(query: str) -> OrderCandidate | None:
    match = _ORDER_LIKE.fullmatch(query.strip().casefold())
    if match is None:
        return None
    prefix, digits = match.groups()
    if not prefix:
        return OrderCandidate(exact=frozenset({digits}), number_suffix=digits)
    spelled = {f"{prefix}{digits}", f"{prefix}-{digits}", f"{prefix} {digits}", f"{prefix}/{digits}"}
    return OrderCandidate(exact=frozenset(spelled), number_suffix=None)
