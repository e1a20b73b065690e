"""Planted duplicates in the demo data, so the review queue has real work (C1).

Each copy is the same person entered again on another channel, with the slips people
make: a nickname, a typo, given and family name swapped, a new email address, a
day/month transposed date of birth, an abbreviated street.
"""

from __future__ import annotations

import random
from datetime import date

from regard.customers import services
from regard.customers.models import Customer
from regard.errors import RegardError

NICKNAMES = {
    "william": "Bill",
    "robert": "Bob",
    "richard": "Rick",
    "james": "Jim",
    "michael": "Mike",
    "elizabeth": "Liz",
    "katherine": "Kate",
    "margaret": "Maggie",
    "thomas": "Tom",
    "alexander": "Alex",
    "christopher": "Chris",
    "daniel": "Dan",
    "jennifer": "Jenny",
    "patricia": "Pat",
    "johannes": "Hans",
    "joseph": "Joe",
}
STREET_ABBREVIATIONS = {"Street": "St", "Road": "Rd", "Avenue": "Ave", "straße": "str.", "Lane": "Ln"}


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text + text[-1]
    i = rng.randrange(1, len(text) - 1)
    choice = rng.choice(("swap", "drop", "double"))
    if choice == "swap":
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if choice == "drop":
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


def _street(text: str) -> str:
    for long, short in STREET_ABBREVIATIONS.items():
        if long in text:
            return text.replace(long, short)
    return text


def _transposed(day: date | None) -> str | None:
    if day is None:
        return None
    if day.day <= 12 and day.day != day.month:
        return date(day.year, day.day, day.month).isoformat()
    return day.isoformat()


def plant_duplicates(*, rng: random.Random, pairs: int = 20) -> int:
    """Re-enter ``pairs`` existing demo customers with realistic variations; returns how many."""
    originals = list(Customer.objects.filter(source="demo").exclude(given_name="").order_by("id")[:400])
    rng.shuffle(originals)
    planted = 0
    for number, original in enumerate(originals):
        if planted >= pairs:
            break
        kind = number % 5
        given, family = original.given_name, original.family_name
        dob = original.date_of_birth.isoformat() if original.date_of_birth else None
        email = f"{rng.choice(('mail', 'post', 'inbox'))}.{planted}@example.net"
        if kind == 0:  # nickname, same address, another email
            nickname = NICKNAMES.get(given.casefold())
            if nickname is None:
                continue
            given = nickname
        elif kind == 1:  # a typo in the family name
            family = _typo(rng, family)
        elif kind == 2:  # given and family name swapped on a web form
            given, family = family, given
        elif kind == 3:  # the same mailbox at another provider
            mailbox = (
                original.identifiers.filter(kind="email").values_list("value_normalised", flat=True).first()
            )
            if mailbox is None:
                continue
            email = (
                mailbox.split("@")[0] + "@" + rng.choice(("gmail.example", "web.example", "outlook.example"))
            )
        else:  # day and month transposed, street abbreviated
            dob = _transposed(original.date_of_birth)
        try:
            services.customer_create(
                actor=None,
                source="demo",
                via="cli",
                identifiers=[services.IdentifierInput("email", email)],
                preferred_name=given if original.formality == "informal" else original.preferred_name,
                formality=original.formality,
                salutation=original.salutation,
                given_name=given,
                family_name=family,
                date_of_birth=dob,
                street=_street(original.street),
                locality=original.locality,
                postcode=original.postcode,
                country=original.country,
                language=original.language,
                time_zone=original.time_zone,
            )
        except RegardError:
            continue
        planted += 1
    return planted
