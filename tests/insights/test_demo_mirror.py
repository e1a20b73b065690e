from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User

from regard.customers.models import Customer, Identifier
from regard.insights.demo_mirror import CHOSEN_PER_WEEK, DEMO_EMAIL, mirror_demo_ensure
from regard.insights.selectors import customer_mirror
from regard.outreach.models import OutboxMessage
from regard.privacy.roles import Role

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def _demo_customer() -> Customer:
    return Identifier.objects.get(kind="email", value_normalised=DEMO_EMAIL).customer


@pytest.mark.django_db
def test_demo_mirror_tells_the_seed_004_story(make_user: Callable[..., User]) -> None:
    made = mirror_demo_ensure(now=NOW)
    assert made
    assert "Maren" in made[0]
    customer = _demo_customer()
    mirror = customer_mirror(actor=make_user(Role.AGENT), customer_id=customer.pk, now=NOW)
    assert mirror.contacts.recent_total == 23
    assert mirror.contacts.chosen_per_week == CHOSEN_PER_WEEK
    texts = [r.text for r in mirror.verdict.reasons]
    assert mirror.verdict.tone == "bad"
    assert texts[0].startswith("Contacted 23 times in 30 days")
    assert any(t.startswith("A promise broken on") for t in texts)
    assert any("working days for a complaint answer" in t for t in texts)
    assert "held 4× by quiet hours" in mirror.gate.sentences
    assert "dropped 2×: solar excluded by you" in mirror.gate.sentences
    assert mirror.repeats.identifiers_repeated == 2  # in her mail and again on the phone
    assert mirror.repeats.asked_again == 1


@pytest.mark.django_db
def test_demo_mirror_is_made_once() -> None:
    mirror_demo_ensure(now=NOW)
    count = OutboxMessage.objects.count()
    assert mirror_demo_ensure(now=NOW) == []
    assert OutboxMessage.objects.count() == count
