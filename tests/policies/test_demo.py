"""The seed-001 story in the demo: the earphones policy beside Mr Dent's complaint, his promises."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from regard.policies.models import Promise, RemedyPolicy
from regard.privacy.roles import Role
from regard.support.models import Conversation
from regard.web.demo import demo_stories_ensure

pytestmark = pytest.mark.django_db


def test_the_demo_tells_the_seed_001_story(make_user: Any) -> None:
    call_command("demo", customers=10, seed=3, stdout=StringIO())
    agent = make_user(Role.AGENT)
    demo_stories_ensure()  # as `regard serve` does once its administrator exists
    assert RemedyPolicy.objects.filter(category="earphones").count() == 1
    complaint = Conversation.objects.get(subject="Earphones stopped working")
    promises = Promise.objects.filter(customer=complaint.customer).order_by("due_at")
    assert [p.state for p in promises] == ["broken", "open"]
    web = Client()
    web.force_login(agent)
    html = web.get(f"/support/c/{complaint.pk}/").content.decode()
    assert "commercial guarantee 40 days — ended" in html
    assert "a goodwill credit of 10.00 EUR" in html
    before = (RemedyPolicy.objects.count(), Promise.objects.count(), Conversation.objects.count())
    assert demo_stories_ensure() == []
    assert (RemedyPolicy.objects.count(), Promise.objects.count(), Conversation.objects.count()) == before
