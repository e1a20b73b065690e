"""Invariant 4: the timeline is append-only, for the ORM and for raw SQL alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from regard.customers import services
from regard.customers.models import TimelineEvent
from tests.customers.factories import make_customer, make_order, unique

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> TimelineEvent:
    customer = make_customer(preferred_name="Ada", identifiers=[("email", f"ada{unique()}@example.org")])
    return TimelineEvent.objects.get(customer=customer, kind="customer.created")


def _unchanged(event: TimelineEvent) -> None:
    fresh = TimelineEvent.objects.get(pk=event.pk)
    assert (fresh.summary, fresh.kind, fresh.customer_id) == (event.summary, event.kind, event.customer_id)


def test_saving_an_existing_event_again_is_refused(event: TimelineEvent) -> None:
    original_summary = event.summary
    event.summary = "rewritten history"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    assert TimelineEvent.objects.get(pk=event.pk).summary == original_summary


def test_deleting_an_event_is_refused(event: TimelineEvent) -> None:
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    assert TimelineEvent.objects.filter(pk=event.pk).exists()


def test_queryset_update_and_delete_are_refused(event: TimelineEvent) -> None:
    with pytest.raises(TypeError, match="append-only"):
        TimelineEvent.objects.filter(pk=event.pk).update(summary="rewritten history")
    with pytest.raises(TypeError, match="append-only"):
        TimelineEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError, match="append-only"):
        TimelineEvent.objects.all().delete()
    _unchanged(event)


def test_bulk_update_is_refused(event: TimelineEvent) -> None:
    event.summary = "rewritten history"
    with pytest.raises(TypeError, match="append-only"), transaction.atomic():
        TimelineEvent.objects.bulk_update([event], ["summary"])
    assert TimelineEvent.objects.get(pk=event.pk).summary != "rewritten history"


def test_deleting_a_customer_with_a_timeline_is_refused(event: TimelineEvent) -> None:
    with pytest.raises(ProtectedError):
        event.customer.delete()
    _unchanged(event)


def test_raw_sql_update_is_refused_by_the_database(event: TimelineEvent) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE customers_timelineevent SET summary = %s WHERE id = %s", ["rewritten history", event.pk]
        )
    _unchanged(event)


def test_raw_sql_delete_is_refused_by_the_database(event: TimelineEvent) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM customers_timelineevent WHERE id = %s", [event.pk])
    _unchanged(event)


def test_raw_sql_delete_of_a_whole_timeline_is_refused(event: TimelineEvent) -> None:
    make_order(customer=event.customer)
    before = TimelineEvent.objects.filter(customer=event.customer).count()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM customers_timelineevent WHERE customer_id = %s", [event.customer_id])
    assert TimelineEvent.objects.filter(customer=event.customer).count() == before == 2


def test_appending_still_works_after_a_refused_change(event: TimelineEvent) -> None:
    with pytest.raises(TypeError):
        TimelineEvent.objects.filter(pk=event.pk).update(summary="x")
    appended = services.timeline_append(customer=event.customer, kind="note", summary="Called back")
    assert TimelineEvent.objects.filter(customer=event.customer).count() == 2
    assert appended.pk != event.pk


def _kinds(customer_id: int) -> list[str]:
    return list(TimelineEvent.objects.filter(customer_id=customer_id).values_list("kind", flat=True))


def test_every_service_that_changes_a_customer_writes_its_event() -> None:
    anna = make_customer(preferred_name="Anna")
    assert _kinds(anna.pk) == ["customer.created"]

    services.customer_update(actor=None, customer=anna, changes={"locality": "Berlin"})
    assert _kinds(anna.pk)[0] == "customer.updated"
    assert "address.locality" in TimelineEvent.objects.filter(customer=anna).first().summary

    identifier = services.identifier_add(
        actor=None, customer=anna, kind="email", value=f"anna{unique()}@example.org"
    )
    newest = TimelineEvent.objects.filter(customer=anna).first()
    assert (newest.kind, newest.subject_type, newest.subject_id) == (
        "identifier.added",
        "customers.identifier",
        str(identifier.pk),
    )

    # An order's event sits on the timeline when it was bought, not when it was recorded.
    bought = timezone.now() - timedelta(days=3)
    order = make_order(customer=anna, purchased_at=bought)
    event = TimelineEvent.objects.get(customer=anna, subject_type="customers.order")
    assert (event.kind, event.subject_id, event.occurred_at) == ("order.recorded", str(order.pk), bought)

    bert = make_customer(preferred_name="Bert")
    merge = services.customer_merge(survivor=anna, absorbed=bert, actor=None)
    for party in (anna, bert):
        assert TimelineEvent.objects.filter(customer=party).first().kind == "customer.merged"
        assert TimelineEvent.objects.filter(customer=party).first().subject_id == str(merge.pk)

    services.merge_undo(merge=merge, actor=None)
    for party in (anna, bert):
        assert TimelineEvent.objects.filter(customer=party).first().kind == "customer.unmerged"

    assert sorted(_kinds(anna.pk)) == sorted(
        [
            "customer.created",
            "customer.updated",
            "identifier.added",
            "order.recorded",
            "customer.merged",
            "customer.unmerged",
        ]
    )


def test_an_update_that_changes_nothing_writes_no_event() -> None:
    anna = make_customer(preferred_name="Anna", locality="Berlin")
    services.customer_update(actor=None, customer=anna, changes={"locality": "Berlin"})
    assert _kinds(anna.pk) == ["customer.created"]
