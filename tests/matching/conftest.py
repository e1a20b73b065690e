from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from faker import Faker

from regard.customers import services as customer_services
from regard.customers.models import Customer

IdentifierInput = customer_services.IdentifierInput


def create(identifiers: tuple[tuple[str, str], ...] = (), **profile: Any) -> Customer:
    return customer_services.customer_create(
        actor=None,
        identifiers=[IdentifierInput(kind, value) for kind, value in identifiers],
        source="test",
        **profile,
    )


@pytest.fixture
def population(db: None) -> Callable[..., list[Customer]]:
    """Distinct people, reproducibly, so the model has a background to learn u from."""

    def make(count: int = 120, seed: int = 3) -> list[Customer]:
        fake = Faker("en_US")
        fake.seed_instance(seed)
        rng = random.Random(seed)
        people = []
        for index in range(count):
            given, family = fake.first_name(), fake.last_name()
            people.append(
                create(
                    identifiers=(("email", f"{given}.{family}.{index}@example.com".lower()),),
                    given_name=given,
                    family_name=family,
                    preferred_name=given,
                    date_of_birth=fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
                    street=fake.street_address(),
                    locality=fake.city(),
                    postcode=f"{rng.randint(10000, 99999)}",
                )
            )
        return people

    return make


@pytest.fixture
def jonathan(db: None) -> Callable[[], tuple[Customer, Customer]]:
    """A planted duplicate: a nickname, a street abbreviation, a new email domain."""

    def make() -> tuple[Customer, Customer]:
        first = create(
            identifiers=(("email", "jonathan.smithers@example.org"), ("phone", "+1 202 555 0143")),
            given_name="Jonathan",
            family_name="Smithers",
            preferred_name="Jonathan",
            date_of_birth="1980-04-12",
            street="12 Main Street",
            locality="Springfield",
            postcode="62701",
        )
        second = create(
            identifiers=(("email", "jonathan.smithers@mail.example.net"),),
            given_name="Jon",
            family_name="Smithers",
            preferred_name="Jon",
            date_of_birth="1980-04-12",
            street="12 Main St",
            locality="Springfield",
            postcode="62701",
        )
        return first, second

    return make
