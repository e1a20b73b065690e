"""Read audits are written for every read, and relaxing their flush never touches other writes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from regard.privacy.services import audit_record_reads


def _synchronous_commit() -> str | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_read_audit_on_its_own_is_written_and_leaves_the_connection_as_it_was(
    make_user: Callable[..., User],
) -> None:
    agent = make_user(Role.AGENT)
    before = _synchronous_commit()

    audit_record_reads(actor=agent, customer_ids=[11, 12], object_type="customer", via="api")

    rows = AuditEntry.objects.filter(action=AuditEntry.Action.READ, actor=agent)
    assert sorted(rows.values_list("customer_id", flat=True)) == [11, 12]
    assert _synchronous_commit() == before


@pytest.mark.django_db
def test_a_read_audit_inside_a_callers_transaction_keeps_that_transaction_durable(
    make_user: Callable[..., User],
) -> None:
    agent = make_user(Role.AGENT)
    with transaction.atomic():
        before = _synchronous_commit()
        audit_record_reads(actor=agent, customer_ids=[7], object_type="timeline", via="web")
        assert _synchronous_commit() == before

    assert AuditEntry.objects.filter(customer_id=7, object_type="timeline").count() == 1


@pytest.mark.django_db
def test_a_read_of_nobody_writes_nothing(make_user: Callable[..., User]) -> None:
    audit_record_reads(actor=make_user(Role.AGENT), customer_ids=[], object_type="customer", via="api")

    assert not AuditEntry.objects.filter(action=AuditEntry.Action.READ).exists()
