"""timeline_append_many: many events in one statement, each shaped as timeline_append shapes one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from regard.customers import services
from regard.customers.models import Order, TimelineEvent
from tests.customers.factories import make_customer, make_order

pytestmark = pytest.mark.django_db

COLUMNS = ("kind", "channel", "summary", "subject_type", "subject_id", "data")


def test_many_events_are_shaped_as_one_event_is() -> None:
    customer = make_customer()
    order = make_order(customer=customer)
    long_summary = "Order " + "x" * 600
    one = services.timeline_append(
        customer=customer, kind="order.noted", channel="api", summary=long_summary, subject=order
    )
    now = timezone.now()
    earlier = now - timedelta(days=2)

    written = services.timeline_append_many(
        entries=[
            services.TimelineEntry(
                customer_id=customer.pk,
                kind="order.noted",
                channel="api",
                summary=long_summary,
                subject_model=Order,
                subject_id=order.pk,
            ),
            services.TimelineEntry(
                customer_id=customer.pk,
                kind="note",
                summary="Called back",
                occurred_at=earlier,
                data={"n": 1},
            ),
        ],
        now=now,
    )

    assert written == 2
    noted, note = TimelineEvent.objects.filter(customer=customer, recorded_at=now).order_by("pk")
    assert [getattr(noted, c) for c in COLUMNS] == [getattr(one, c) for c in COLUMNS]
    assert len(noted.summary) == 500
    assert (noted.subject_type, noted.subject_id) == ("customers.order", str(order.pk))
    assert noted.occurred_at == now
    assert (note.occurred_at, note.data, note.subject_type, note.subject_id) == (earlier, {"n": 1}, "", "")


def test_many_events_are_one_insert() -> None:
    customers = [make_customer() for _ in range(3)]
    entries = [services.TimelineEntry(customer_id=c.pk, kind="note", summary="Hello") for c in customers]

    with CaptureQueriesContext(connection) as queries:
        services.timeline_append_many(entries=entries * 10)

    writes = [q["sql"] for q in queries.captured_queries if "timeline" in q["sql"].lower()]
    # PostgreSQL writes them with COPY, which goes past Django's query log.
    assert len(writes) == (0 if connection.vendor == "postgresql" else 1)
    assert TimelineEvent.objects.filter(kind="note", customer__in=customers).count() == 30


def test_no_events_write_nothing() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert services.timeline_append_many(entries=[]) == 0
    assert queries.captured_queries == []
