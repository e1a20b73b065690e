"""A mirror asked again over unchanged rows is the one computed; any change to a row it read is seen.

PostgreSQL only: the fingerprint is each row's id and the transaction that wrote it (xmin).
The tests commit (transaction=True), as requests do: inside a transaction that has written,
nothing is remembered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from regard.insights.selectors import customer_mirror
from regard.insights.selectors.mirror.cache import remembered
from regard.outreach.models import OutboxMessage
from regard.policies.models import Promise
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from regard.support.models import SlaPolicy
from tests.insights.builders import NOW, SINCE, Story, story

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the row fingerprint needs PostgreSQL"),
]
# Profile, group, audit (its transaction), the fingerprint: nothing of the sections.
MIRROR_QUERIES_REMEMBERED = 7


@pytest.fixture
def agent(make_user: Callable[..., User]) -> User:
    return make_user(Role.AGENT)


@pytest.fixture
def told(agent: User) -> Story:
    remembered.clear()
    # Built in one transaction, as the services' after-commit hooks expect of the hand-counted story.
    with transaction.atomic():
        return story(agent)


def _mirror(agent: User, customer_id: int, **kwargs: Any) -> Any:
    kwargs.setdefault("since", SINCE)
    kwargs.setdefault("until", NOW)
    return customer_mirror(actor=agent, customer_id=customer_id, now=NOW, **kwargs)


def test_unchanged_rows_give_the_mirror_just_computed_and_still_audit_the_read(
    agent: User, told: Story
) -> None:
    first = _mirror(agent, told.customer.pk)
    reads = AuditEntry.objects.filter(object_type="mirror").count()
    with CaptureQueriesContext(connection) as captured:
        again = _mirror(agent, told.customer.pk)
    assert again is first
    assert len(captured.captured_queries) == MIRROR_QUERIES_REMEMBERED
    assert AuditEntry.objects.filter(object_type="mirror").count() == reads + 1
    assert _mirror(agent, told.customer.pk, since=SINCE + timedelta(days=1)) is not first


def test_a_row_changed_in_place_is_seen(agent: User, told: Story) -> None:
    first = _mirror(agent, told.customer.pk)
    assert first.contacts.total == 6
    # No new row: a message sent in the period is marked dropped after the fact.
    sent = OutboxMessage.objects.filter(customer=told.customer, state=OutboxMessage.State.SENT).first()
    assert sent is not None
    OutboxMessage.objects.filter(pk=sent.pk).update(state=OutboxMessage.State.DROPPED)
    second = _mirror(agent, told.customer.pk)
    assert second is not first
    assert second.contacts.total == 5
    # A promise settled differently.
    Promise.objects.filter(customer=told.customer).update(state="kept")
    third = _mirror(agent, told.customer.pk)
    assert (third.promises.kept, third.promises.broken) == (1, 0)
    # A target changed on the SLA policy (a row the mirror reads without it being the customer's).
    SlaPolicy.objects.update(first_response_minutes=24 * 60)
    fourth = _mirror(agent, told.customer.pk)
    complaint = next(c for c in fourth.conversations if c.conversation_id == told.complaint.pk)
    assert complaint.first_response.target_minutes == 24 * 60
    assert _mirror(agent, told.customer.pk) is fourth


def test_a_period_still_running_is_computed_every_time(agent: User, told: Story) -> None:
    later = NOW + timedelta(days=1)
    first = _mirror(agent, told.customer.pk, until=later)
    assert _mirror(agent, told.customer.pk, until=later) is not first
