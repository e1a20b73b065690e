"""An agent reviews a likely duplicate, sees why, merges it and finds one customer (C1, seed 004)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from faker import Faker
from playwright.sync_api import Page, expect

from regard.customers.models import Customer
from regard.matching import services
from regard.matching.models import MatchCandidate, MatchRun
from regard.privacy.roles import Role
from tests.matching.conftest import create

# serialized_rollback: the live server needs committed data, and the flush after each test
# must not take the role groups (created by a data migration) with it.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _background(count: int = 120, seed: int = 3) -> None:
    """Distinct people, so the model has something to learn how random pairs look."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    for index in range(count):
        given, family = fake.first_name(), fake.last_name()
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


def _planted_duplicate() -> tuple[Customer, Customer]:
    """The web form's "Jon" and the shop's "Jonathan": one person, two records."""
    shop = create(
        identifiers=(("email", "jonathan.smithers@example.org"), ("account", "SHOP-40417")),
        given_name="Jonathan",
        family_name="Smithers",
        preferred_name="Jonathan",
        date_of_birth="1980-04-12",
        street="12 Main Street",
        locality="Springfield",
        postcode="62701",
    )
    web_form = create(
        identifiers=(("email", "jon.smithers@mail.example.net"), ("phone", "+1 202 555 0143")),
        given_name="Jon",
        family_name="Smithers",
        preferred_name="Jon",
        date_of_birth="1980-04-12",
        street="12 Main St",
        locality="Springfield",
        postcode="62701",
    )
    return shop, web_form


def test_agent_accepts_a_duplicate_from_the_review_queue_and_sees_one_customer(
    live_server: object,
    page: Page,
    make_user: Callable[..., User],
    sign_in: Callable[..., None],
    artifacts_dir: Path,
) -> None:
    make_user(Role.AGENT, username="agent-amir")
    _background()
    survivor, absorbed = _planted_duplicate()
    services.match_train(actor=None, seed=services.DEFAULT_SEED)
    services.match_run_execute(run=MatchRun.objects.create(created_at=timezone.now()))
    candidate = MatchCandidate.objects.get(customer_low=survivor, customer_high=absorbed)
    assert candidate.status == MatchCandidate.Status.PROPOSED
    base_url = str(live_server)

    sign_in(base_url, "agent-amir")
    page.goto(f"{base_url}/matching/")
    expect(page.get_by_role("heading", name="Possible duplicates")).to_be_visible()
    link = page.get_by_role("link", name=f"{survivor.display_name} and {absorbed.display_name}")
    expect(link).to_be_visible()
    link.click()

    expect(page).to_have_url(f"{base_url}/matching/{candidate.pk}/")
    side_by_side = page.get_by_test_id("side-by-side")
    expect(side_by_side).to_contain_text("Jonathan")
    expect(side_by_side).to_contain_text("Jon")
    chart = page.get_by_role("img", name="Match weight waterfall")
    expect(chart).to_be_visible()
    # One bar for the prior, one per compared field, one for the total.
    expect(chart.locator("rect")).to_have_count(len(candidate.explanation["fields"]) + 2)
    expect(chart).to_contain_text("Given name — nickname")
    expect(chart).to_contain_text("Match weight — total")

    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("message")).to_contain_text(
        f"Merged customer {absorbed.pk} into {survivor.pk}"
    )
    expect(page.get_by_test_id("status")).to_have_text("accepted")
    page.get_by_test_id("survivor-link").click()

    expect(page).to_have_url(f"{base_url}/customers/{survivor.pk}/")
    identifiers = page.get_by_test_id("identifier")
    # The absorbed profile's identifiers now belong to the survivor, beside its own.
    expect(identifiers.filter(has_text="jon.smithers@mail.example.net")).to_have_count(1)
    expect(identifiers.filter(has_text=re.compile(r"555\D*0143"))).to_have_count(1)
    expect(identifiers.filter(has_text="jonathan.smithers@example.org")).to_have_count(1)
    expect(identifiers.filter(has_text="SHOP-40417")).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / "matching-merged-customer-360.png"), full_page=True)

    absorbed.refresh_from_db()
    assert absorbed.merged_into_id == survivor.pk
