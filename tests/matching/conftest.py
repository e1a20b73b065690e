from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from faker import Faker

from regard.customers import services as customer_services
from regard.customers.models import Customer
from regard.matching import services
from regard.matching.models import MatchCandidate, MatchRun

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


StoredCandidates = dict[tuple[int, int], tuple[float, float, Any]]


def batch_run_on(backend: str) -> tuple[MatchRun, StoredCandidates]:
    """A batch run with REGARD_MATCH_BACKEND=backend, and what it stored: pair → (probability,
    match weight, explanation)."""
    with override_settings(REGARD_MATCH_BACKEND=backend):
        run = services.match_run_execute(run=MatchRun.objects.create(created_at=timezone.now()))
    stored = {
        (low, high): (probability, weight, explanation)
        for low, high, probability, weight, explanation in MatchCandidate.objects.filter(run=run).values_list(
            "customer_low_id", "customer_high_id", "probability", "match_weight", "explanation"
        )
    }
    return run, stored


def assert_same_candidates(expected: StoredCandidates, found: StoredCandidates) -> None:
    """The same pairs, probabilities and weights within 1e-9, identical explanations."""
    assert found.keys() == expected.keys()
    for pair, (probability, weight, explanation) in expected.items():
        other_probability, other_weight, other_explanation = found[pair]
        assert math.isclose(other_probability, probability, rel_tol=0, abs_tol=1e-9), pair
        assert math.isclose(other_weight, weight, rel_tol=0, abs_tol=1e-9), pair
        assert other_explanation == explanation, pair
