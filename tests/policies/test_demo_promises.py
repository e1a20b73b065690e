"""The demo's promises: one open due tomorrow, one broken in the past, idempotent (S22)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from regard.policies import selectors
from regard.policies.demo_promises import promises_demo_ensure
from regard.policies.models import Promise
from regard.support.models import Conversation

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def test_works_alone_and_twice_changes_nothing() -> None:
    lines = promises_demo_ensure(now=NOW)
    assert len(lines) == 2
    open_one = Promise.objects.get(state="open")
    assert open_one.kind == "callback"
    assert open_one.due_at == NOW + timedelta(days=1)
    broken = Promise.objects.get(state="broken")
    assert broken.kind == "shipment"
    assert broken.due_at < NOW
    assert Conversation.objects.get().subject == "No sound from my earphones"
    assert [b.promise_id for b in selectors.promises_broken_since(since=NOW - timedelta(days=30))] == [
        broken.pk
    ]
    assert promises_demo_ensure(now=NOW) == []
    assert Promise.objects.count() == 2
