"""Reproducible demo data: realistic people in several languages, with orders (C8)."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import phonenumbers
from django.db import transaction
from django.utils import timezone
from faker import Faker

from regard.customers import services
from regard.customers.demo_duplicates import plant_duplicates
from regard.customers.models import Customer
from regard.errors import RegardError


@dataclass(frozen=True)
class Locale:
    faker: str
    language: str
    time_zone: str
    country: str
    formal_share: float  # how many people there prefer to be addressed formally
    salutations: tuple[str, str]


LOCALES = [
    Locale("en_US", "en-US", "America/New_York", "US", 0.2, ("Ms", "Mr")),
    Locale("en_GB", "en-GB", "Europe/London", "GB", 0.3, ("Ms", "Mr")),
    Locale("de_DE", "de", "Europe/Berlin", "DE", 0.7, ("Frau", "Herr")),
    Locale("fr_FR", "fr", "Europe/Paris", "FR", 0.7, ("Madame", "Monsieur")),
    Locale("es_ES", "es", "Europe/Madrid", "ES", 0.4, ("Sra.", "Sr.")),
    Locale("it_IT", "it", "Europe/Rome", "IT", 0.5, ("Sig.ra", "Sig.")),
    Locale("nl_NL", "nl", "Europe/Amsterdam", "NL", 0.3, ("mevrouw", "meneer")),
    Locale("pl_PL", "pl", "Europe/Warsaw", "PL", 0.6, ("Pani", "Pan")),
    Locale("sv_SE", "sv", "Europe/Stockholm", "SE", 0.1, ("", "")),
    Locale("ja_JP", "ja", "Asia/Tokyo", "JP", 0.9, ("様", "様")),
    Locale("pt_BR", "pt-BR", "America/Sao_Paulo", "BR", 0.3, ("Sra.", "Sr.")),
]

PRODUCTS = [
    ("EAR-100", "Aria wireless earphones", "earphones", "79.00"),
    ("EAR-200", "Aria Pro noise-cancelling earphones", "earphones", "149.00"),
    ("HP-300", "Studio over-ear headphones", "headphones", "199.00"),
    ("PH-12", "Lumen 12 smartphone", "phones", "649.00"),
    ("PH-13", "Lumen 13 smartphone", "phones", "799.00"),
    ("CHG-65", "65 W USB-C charger", "accessories", "39.00"),
    ("CBL-2", "Braided USB-C cable, 2 m", "accessories", "15.00"),
    ("LT-14", "Quill 14 laptop", "laptops", "1199.00"),
    ("KB-01", "Quiet mechanical keyboard", "accessories", "89.00"),
    ("CF-500", "Barista 500 espresso machine", "coffee", "429.00"),
    ("CF-BEAN", "House blend coffee beans, 1 kg", "coffee", "24.00"),
    ("SP-20", "Pocket speaker", "speakers", "59.00"),
    ("WT-3", "Pulse 3 fitness watch", "wearables", "229.00"),
]


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in ".-")).lower()


def _phone(rng: random.Random, region: str) -> str | None:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return None
    digits = str(example.national_number)
    for _ in range(20):
        tail = "".join(rng.choice("0123456789") for _ in range(4))
        candidate = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=int(digits[:-4] + tail)
        )
        if phonenumbers.is_valid_number(candidate):
            return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
    return None


def _showcase(now: datetime) -> list[dict[str, object]]:
    """A few people the scenarios talk about, so the demo tells their story."""
    return [
        {
            # S7: never "Hey Arthur" — he asked to be addressed formally.
            "profile": dict(
                preferred_name="Mr Dent",
                formality="formal",
                salutation="Mr",
                given_name="Arthur",
                family_name="Dent",
                language="en-GB",
                time_zone="Europe/London",
                street="155 Country Lane",
                locality="Cottington",
                postcode="CT1 4HG",
                country="GB",
            ),
            "identifiers": [("email", "arthur.dent@example.org"), ("account", "ACC-000042")],
            "orders": [("EAR-100", 60)],  # S10: earphones two months old, 40-day guarantee
        },
        {
            "profile": dict(
                preferred_name="Anna",
                formality="informal",
                given_name="Anna",
                family_name="Weber",
                language="de",
                time_zone="Europe/Berlin",
                street="Lindenstraße 12",
                locality="Berlin",
                postcode="10969",
                country="DE",
            ),
            "identifiers": [("email", "anna.weber@example.de"), ("phone", "+49 151 23456789")],
            "orders": [("PH-13", 20), ("CHG-65", 20)],
        },
    ]


@transaction.atomic
def demo_load(*, customers: int, seed: int) -> int:
    """Create ``customers`` people (plus the showcase ones) reproducibly from ``seed``."""
    rng = random.Random(seed)
    Faker.seed(seed)
    fakers = {locale.faker: Faker(locale.faker) for locale in LOCALES}
    now = timezone.now().replace(microsecond=0)
    created = 0
    order_counter = 10000

    def record_orders(customer: Customer, items: list[tuple[str, int]]) -> None:
        nonlocal order_counter
        for sku, days_ago in items:
            order_counter += 1
            product = next(p for p in PRODUCTS if p[0] == sku)
            services.order_record(
                actor=None,
                customer=customer,
                order_number=f"R-{order_counter}",
                purchased_at=now - timedelta(days=days_ago, hours=rng.randint(0, 23)),
                currency="EUR",
                source="demo",
                via="cli",
                lines=[
                    services.OrderLineInput(
                        sku=sku,
                        quantity=1,
                        unit_price=Decimal(product[3]),
                        product_name=product[1],
                        category=product[2],
                    )
                ],
            )

    for person in _showcase(now):
        customer = services.customer_create(
            actor=None,
            source="demo",
            via="cli",
            identifiers=[services.IdentifierInput(k, v) for k, v in person["identifiers"]],  # type: ignore[attr-defined]
            **person["profile"],  # type: ignore[arg-type]
        )
        record_orders(customer, person["orders"])  # type: ignore[arg-type]
        created += 1

    while created < customers:
        locale = rng.choice(LOCALES)
        fake = fakers[locale.faker]
        female = rng.random() < 0.5
        given = fake.first_name_female() if female else fake.first_name_male()
        family = fake.last_name()
        formal = rng.random() < locale.formal_share
        salutation = locale.salutations[0 if female else 1] if formal else ""
        if formal and salutation:
            preferred = f"{salutation} {family}" if locale.faker != "ja_JP" else f"{family}{salutation}"
        else:
            preferred = given
        mailbox = f"{_ascii(given) or 'customer'}.{_ascii(family) or created}{rng.randint(1, 999)}"
        identifiers = [services.IdentifierInput("email", f"{mailbox}@example.{locale.country.lower()}")]
        phone = _phone(rng, locale.country) if rng.random() < 0.7 else None
        if phone:
            identifiers.append(services.IdentifierInput("phone", phone))
        if rng.random() < 0.5:
            identifiers.append(services.IdentifierInput("account", f"ACC-{rng.randint(100000, 999999)}"))
        birth = fake.date_of_birth(minimum_age=18, maximum_age=90) if rng.random() < 0.6 else None
        try:
            customer = services.customer_create(
                actor=None,
                source="demo",
                via="cli",
                identifiers=identifiers,
                preferred_name=preferred,
                formality="formal"
                if formal and salutation
                else ("informal" if rng.random() < 0.85 else "neutral"),
                salutation=salutation,
                given_name=given,
                family_name=family,
                date_of_birth=birth.isoformat() if birth else None,
                street=fake.street_address()[:300],
                locality=fake.city()[:200],
                postcode=fake.postcode()[:20],
                country=locale.country,
                language=locale.language,
                time_zone=locale.time_zone,
            )
        except RegardError:
            continue  # a generated identifier collided; draw another person
        orders = [(rng.choice(PRODUCTS)[0], rng.randint(1, 720)) for _ in range(rng.choice([0, 1, 1, 2, 3]))]
        record_orders(customer, orders)
        created += 1
    # C1: some people come back under a nickname, a typo or a new address.
    plant_duplicates(rng=rng, pairs=20)
    return created
