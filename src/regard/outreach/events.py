"""Customer events posted by integrators (cart abandoned, purchase, web visit, complaint).

Every event lands on the customer's timeline; journeys react to it (C3, S16, S19).

``event_record`` is a service by every rule (keyword-only, the actor, one transaction, an audit
row); it lives beside the event vocabulary (``event_types``, ``SUMMARIES``) that only events use,
and calls the journeys in the same transaction, so an event and its enrollment commit together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from regard.customers.models import Customer, TimelineEvent
from regard.customers.services import Actor, timeline_append
from regard.errors import Conflict, InvalidInput
from regard.outreach.event_types import clean_event_type
from regard.outreach.journeys import journeys_on_event
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record

# The gate reads this kind for the S16 cool-off (outreach/selectors.py).
WEB_VISIT = "web.visit"
MAX_DATA_BYTES = 16_384
# An event reported this far ahead of our clock is a mistake, not a plan.
CLOCK_SKEW = timedelta(minutes=5)

SUMMARIES = {
    "cart_abandoned": "Left a cart without buying",
    WEB_VISIT: "Visited the website",
    "purchase": "Bought something",
    "complaint": "Complained",
}


def clean_event_data(data: Mapping[str, Any] | None) -> dict[str, Any]:
    data = dict(data or {})
    encoded = json.dumps(data, ensure_ascii=True, default=str)
    if len(encoded) > MAX_DATA_BYTES:
        raise InvalidInput(f"data: at most {MAX_DATA_BYTES} bytes of JSON.", field="data")
    # PostgreSQL's jsonb cannot store NUL; refuse it rather than fail with a 500.
    if "\\u0000" in encoded:
        raise InvalidInput("data: must not contain NUL characters.", field="data")
    return data


@transaction.atomic
def event_record(
    *,
    actor: Actor,
    customer: Customer,
    type: str,
    occurred_at: datetime | None = None,
    data: Mapping[str, Any] | None = None,
    via: str = "api",
    now: datetime | None = None,
) -> TimelineEvent:
    """Put one event on the customer's timeline and let journeys react to it."""
    now = now or timezone.now()
    if customer.erased_at is not None:
        # Art. 17: web visits and other events identify the person again; an erased profile takes none.
        raise Conflict(f"customer: customer {customer.pk} was erased (GDPR Art. 17).", field="customer")
    kind = clean_event_type(type)
    cleaned = clean_event_data(data)
    if occurred_at is not None and timezone.is_naive(occurred_at):
        raise InvalidInput("occurred_at: give a time zone (e.g. 2026-05-01T10:00:00Z).", field="occurred_at")
    if occurred_at is not None and occurred_at > now + CLOCK_SKEW:
        raise InvalidInput("occurred_at: must not be in the future.", field="occurred_at")
    event = timeline_append(
        customer=customer,
        kind=kind,
        channel="web" if kind == WEB_VISIT else "",
        summary=SUMMARIES.get(kind, kind.replace("_", " ").replace(".", " ").capitalize()),
        occurred_at=occurred_at or now,
        data=cleaned,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        object_type="timeline_event",
        object_id=event.pk,
        customer_id=customer.pk,
        via=via,
        now=now,
    )
    journeys_on_event(event=event, now=now)
    return event
