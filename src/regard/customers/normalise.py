"""Field-standard normalisation and validation of what customers tell us (C1).

Every channel normalises identifiers through these functions, so the same person
is found whether their number arrives as "030 1234567" or "+49 30 1234567".
"""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import date
from functools import lru_cache

import langcodes
import phonenumbers
from django.conf import settings
from email_validator import EmailNotValidError, validate_email

from regard.errors import InvalidInput

IDENTIFIER_KINDS = ("email", "phone", "chat", "account", "order", "social", "external")
_WHITESPACE = re.compile(r"\s+")


# A conservative subset of addresses (plain ASCII dot-atoms) that email-validator
# accepts whenever their domain is valid; anything else takes the full validator.
_SIMPLE_EMAIL = re.compile(r"([A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*)@([A-Za-z0-9.\-]+)")


@lru_cache(maxsize=65536)
def _domain_is_valid(domain: str) -> bool:
    """Whether email-validator accepts this ASCII domain unchanged (apart from case)."""
    try:
        result = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return False
    return bool(result.normalized.lower() == f"a@{domain.lower()}")


def normalise_email_fully(value: str, *, field: str = "email") -> str:
    """email-validator on every address: the reference the fast path is tested against."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput(
            f"{field}: '{value}' is not a valid email address ({error}).", field=field
        ) from None
    return result.normalized.lower()


def normalise_email(value: str, *, field: str = "email") -> str:
    """Lower-cased, validated address; plain addresses skip the full parse (imports are hot)."""
    stripped = value.strip()
    match = _SIMPLE_EMAIL.fullmatch(stripped)
    if (
        match is not None
        and len(match.group(1)) <= 64
        and len(stripped) <= 254
        and _domain_is_valid(match.group(2))
    ):
        return stripped.lower()
    return normalise_email_fully(value, field=field)


def normalise_phone(value: str, *, field: str = "phone", region: str | None = None) -> str:
    default_region = region or settings.REGARD_DEFAULT_PHONE_REGION
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"{field}: '{value}' is not a phone number.", field=field) from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"{field}: '{value}' is not a valid phone number.", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_opaque(value: str, *, field: str) -> str:
    """Account numbers, order numbers, handles: trimmed, inner spaces collapsed, case-folded."""
    cleaned = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", value)).strip()
    if not cleaned:
        raise InvalidInput(f"{field}: must not be empty.", field=field)
    if len(cleaned) > 200:
        raise InvalidInput(f"{field}: longer than 200 characters.", field=field)
    return cleaned.casefold()


def normalise_identifier(kind: str, value: str, *, field: str = "value", kind_field: str = "kind") -> str:
    if kind not in IDENTIFIER_KINDS:
        raise InvalidInput(
            f"{kind_field}: '{kind}' is not one of {', '.join(IDENTIFIER_KINDS)}.", field=kind_field
        )
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field}: must not be empty.", field=field)
    if "\x00" in value:
        raise InvalidInput(f"{field}: must not contain NUL characters.", field=field)
    if kind == "email":
        return normalise_email(value, field=field)
    if kind == "phone":
        return normalise_phone(value, field=field)
    if kind == "social":
        return normalise_opaque(value.lstrip("@"), field=field)
    return normalise_opaque(value, field=field)


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str, *, field: str = "time_zone") -> str:
    if value not in _time_zones():
        raise InvalidInput(f"{field}: '{value}' is not an IANA time zone (e.g. Europe/Berlin).", field=field)
    return value


@lru_cache(maxsize=512)
def _standard_language_tag(value: str) -> str | None:
    if not langcodes.tag_is_valid(value):
        return None
    return str(langcodes.standardize_tag(value))


def validate_language(value: str, *, field: str = "language") -> str:
    tag = _standard_language_tag(value.strip()) if value else None
    if tag is None:
        raise InvalidInput(f"{field}: '{value}' is not a BCP 47 language tag (e.g. en, de-CH).", field=field)
    return tag


def validate_country(value: str, *, field: str = "address.country") -> str:
    code = value.strip().upper()
    if code and code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"{field}: '{value}' is not an ISO 3166 country code (e.g. DE).", field=field)
    return code


def parse_date(value: str | date | None, *, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(f"{field}: '{value}' is not a date (YYYY-MM-DD).", field=field) from None
    if parsed > date.today() or parsed.year < 1900:
        raise InvalidInput(f"{field}: {parsed.isoformat()} is not a plausible date of birth.", field=field)
    return parsed


def search_key(*parts: str) -> str:
    """Accent- and case-insensitive text for name search."""
    joined = " ".join(p for p in parts if p)
    decomposed = unicodedata.normalize("NFKD", joined)
    # Control characters (NUL above all, which PostgreSQL refuses) become spaces.
    stripped = "".join(
        " " if unicodedata.category(c) == "Cc" else c for c in decomposed if not unicodedata.combining(c)
    )
    return _WHITESPACE.sub(" ", stripped).strip().casefold()
