"""The synthetic customer set of the matching benchmark, reproducible from its seed alone.

Originals drawn from name, street and town pools of eight Faker locales, plus re-entries
of some of them with realistic slips (typos, nicknames, swapped names, another mailbox
or phone digit, day and month exchanged, a move). Everything random comes from one
``random.Random(seed)`` and from Faker instances seeded with the same number; nothing
depends on ``PYTHONHASHSEED`` (set iteration order): some Faker locales build their word
lists from sets (``it_IT`` cities), so every provider's word lists are sorted before use.
``tests/matching/test_reproducible.py`` checks this in two interpreters with different
hash seeds.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL")
Rows = list[dict[str, Any]]


def _seeded_faker(locale: str, seed: int) -> Any:
    from faker import Faker

    fake = Faker(locale)
    for provider in fake.get_providers():
        for name, value in list(vars(provider).items()) + [
            (n, getattr(type(provider), n)) for n in dir(type(provider)) if not n.startswith("_")
        ]:
            # word lists built from a set differ between interpreters: sort them (in place
            # on this instance only)
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                setattr(provider, name, sorted(value))
    fake.seed_instance(seed)
    return fake


def pools(seed: int) -> dict[str, list[str]]:
    from regard.customers.demo_duplicates import NICKNAMES

    found: dict[str, list[str]] = {"given": [], "family": [], "street": [], "city": []}
    for locale in LOCALES:
        fake = _seeded_faker(locale, seed)
        found["given"] += [fake.first_name() for _ in range(400)]
        found["family"] += [fake.last_name() for _ in range(600)]
        found["street"] += [fake.street_name() for _ in range(300)]
        found["city"] += [fake.city() for _ in range(150)]
    found["given"] += [n.title() for n in NICKNAMES]
    return found


def generate(count: int, seed: int) -> tuple[Rows, set[tuple[str, str]], Rows]:
    """(rows, pairs of rec_ids of the same person, 200 newcomers that duplicate an original)."""
    from regard.customers.demo_duplicates import NICKNAMES, _typo

    rng = random.Random(seed)
    words = pools(seed)
    nickname_forms = frozenset(v.lower() for v in NICKNAMES.values()) | frozenset(NICKNAMES)
    originals_count = int(count * 0.8)
    rows: Rows = []
    for index in range(originals_count):
        given, family = rng.choice(words["given"]), rng.choice(words["family"])
        birth = date(rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28))
        rows.append(
            {
                "rec_id": f"o{index}",
                "given_name": given,
                "family_name": family,
                "date_of_birth": birth if rng.random() < 0.8 else None,
                "street": f"{rng.randint(1, 200)} {rng.choice(words['street'])}",
                "locality": rng.choice(words["city"]),
                "postcode": f"{rng.randint(10000, 99999)}",
                "email": f"{given}.{family}{index}@example.com".lower().replace(" ", ""),
                "phone": f"+1{rng.randint(200, 999)}{index:07d}" if rng.random() < 0.6 else "",
            }
        )

    def corrupt(original: dict[str, Any], number: int) -> dict[str, Any]:
        row = dict(original, rec_id=f"d{number}-{original['rec_id']}")
        row["email"] = f"other{number}@mail.example"
        row["phone"] = ""
        for _ in range(rng.choice((1, 1, 2, 3))):
            slip = rng.randrange(8)
            if slip == 0 and row["given_name"].lower() in nickname_forms:
                row["given_name"] = NICKNAMES.get(row["given_name"].lower(), row["given_name"])
            elif slip == 1:
                row["given_name"] = _typo(rng, row["given_name"])
            elif slip == 2:
                row["family_name"] = _typo(rng, row["family_name"])
            elif slip == 3:
                row["given_name"], row["family_name"] = row["family_name"], row["given_name"]
            elif slip == 4:
                local = original["email"].split("@")[0]
                row["email"] = local.replace(".", "") + "@" + rng.choice(("gmail.example", "web.example"))
            elif slip == 5 and original["phone"]:
                digits = original["phone"]
                row["phone"] = digits[:-1] + str((int(digits[-1]) + 1) % 10)
            elif slip == 6 and row["date_of_birth"] and row["date_of_birth"].day <= 12:
                d = row["date_of_birth"]
                row["date_of_birth"] = date(d.year, d.day, d.month)
            elif slip == 7:
                row["street"], row["locality"], row["postcode"] = (
                    f"{rng.randint(1, 200)} {rng.choice(words['street'])}",
                    rng.choice(words["city"]),
                    f"{rng.randint(10000, 99999)}",
                )  # moved house
        return row

    # The truth: every pair of records of one person (an original and its re-entries, and
    # two re-entries of the same original).
    people: dict[str, list[str]] = {}
    for number in range(count - originals_count):
        original = rows[rng.randrange(originals_count)]
        duplicate = corrupt(original, number)
        rows.append(duplicate)
        people.setdefault(original["rec_id"], [original["rec_id"]]).append(duplicate["rec_id"])
    truth: set[tuple[str, str]] = set()
    for records in people.values():
        for index, first in enumerate(records):
            for second in records[index + 1 :]:
                low, high = sorted((first, second))
                truth.add((low, high))
    newcomers = [corrupt(rows[rng.randrange(originals_count)], 10_000_000 + n) for n in range(200)]
    return rows, truth, newcomers


def digest(rows: Rows, truth: set[tuple[str, str]], newcomers: Rows) -> str:
    """A fingerprint of a generated set, independent of set ordering."""
    text = repr((rows, sorted(truth), newcomers))
    return hashlib.sha256(text.encode()).hexdigest()


def load_as_customers(
    rows: Rows, *, source: str, kinds: Sequence[str] = ("email", "phone", "external")
) -> tuple[dict[int, str], set[tuple[str, str]]]:
    """Rows as customers and identifiers, in bulk and without hooks (the benchmark's and the
    backend tests' loading). An identifier belongs to one customer: a value a later row
    repeats is not stored again, and the two rows are returned as an exact pair (by
    ``rec_id``). Returns customer id → ``rec_id`` and those pairs."""
    from regard.customers.models import Customer, Identifier

    now = datetime.now(UTC)
    customers = [
        Customer(
            preferred_name=row["given_name"],
            given_name=row["given_name"],
            family_name=row["family_name"],
            date_of_birth=row["date_of_birth"],
            street=row["street"],
            locality=row["locality"],
            postcode=row["postcode"],
            search_text=f"{row['given_name']} {row['family_name']}".lower(),
            source=source,
            created_at=now,
            updated_at=now,
        )
        for row in rows
    ]
    created = Customer.objects.bulk_create(customers, batch_size=5000)
    if not all(c.pk for c in created):
        created = list(Customer.objects.order_by("id"))
    ids = {c.pk: row.get("rec_id", "") for c, row in zip(created, rows, strict=True)}
    owners: dict[tuple[str, str], str] = {}
    exact: set[tuple[str, str]] = set()
    identifiers = []
    for customer, row in zip(created, rows, strict=True):
        for kind in kinds:
            value = row.get(kind) or ""
            if not value:
                continue
            owner = owners.get((kind, value))
            if owner is not None:
                low, high = sorted((owner, row.get("rec_id", "")))
                exact.add((low, high))
                continue
            owners[(kind, value)] = row.get("rec_id", "")
            identifiers.append(
                Identifier(
                    customer=customer,
                    kind=kind,
                    value_raw=value,
                    value_normalised=value,
                    source=source,
                    first_seen_at=now,
                )
            )
    Identifier.objects.bulk_create(identifiers, batch_size=10000)
    return ids, exact
