"""The append-only timeline: one event at a time, or many in one statement (invariant 4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from regard.customers.models import Customer, TimelineEvent
from regard.db import bulk

SUMMARY_LIMIT = 500  # TimelineEvent.summary's max_length
FIELDS = ("kind", "channel", "summary", "occurred_at", "recorded_at", "subject_type", "subject_id", "data")


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event for ``timeline_append_many``: what ``timeline_append`` takes, with the customer
    and the subject by key (a bulk writer holds keys, not loaded rows)."""

    customer_id: int
    kind: str
    summary: str
    channel: str = ""
    occurred_at: datetime | None = None
    subject_model: type[models.Model] | None = None
    subject_id: Any = None
    data: Mapping[str, Any] | None = None


def _values(entry: TimelineEntry, now: datetime) -> tuple[Any, ...]:
    """The event's columns in ``FIELDS`` order: the one place an event is shaped and checked."""
    subject_type = subject_id = ""
    if entry.subject_model is not None:
        subject_type = entry.subject_model._meta.label_lower
        subject_id = str(entry.subject_id)
    return (
        entry.kind,
        entry.channel,
        entry.summary[:SUMMARY_LIMIT],
        entry.occurred_at or now,
        now,
        subject_type,
        subject_id,
        dict(entry.data or {}),
    )


def timeline_append(
    *,
    customer: Customer,
    kind: str,
    summary: str,
    channel: str = "",
    occurred_at: datetime | None = None,
    subject: Any = None,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append one event to the person's timeline (invariant 4: never updated afterwards)."""
    entry = TimelineEntry(
        customer_id=customer.pk,
        kind=kind,
        summary=summary,
        channel=channel,
        occurred_at=occurred_at,
        subject_model=type(subject) if subject is not None else None,
        subject_id=subject.pk if subject is not None else None,
        data=data,
    )
    values = _values(entry, timezone.now())
    return TimelineEvent.objects.create(customer=customer, **dict(zip(FIELDS, values, strict=True)))


def timeline_append_many(*, entries: Iterable[TimelineEntry], now: datetime | None = None) -> int:
    """Append many events in one statement (COPY on PostgreSQL), each shaped as ``timeline_append``
    shapes one; ``now`` is their recorded time and the default occurred time. Answers how many."""
    now = now or timezone.now()
    rows = [(entry.customer_id, *_values(entry, now)) for entry in entries]
    if not rows:
        return 0
    with transaction.atomic(savepoint=False):
        bulk.insert(TimelineEvent, ("customer_id", *FIELDS), rows)
    return len(rows)
