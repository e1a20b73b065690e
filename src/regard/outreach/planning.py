"""Campaign planning over audiences of any size, in chunks: memory does not grow with the audience.

``audience_chunks`` walks an audience rule's customers by primary key (keyset pagination:
each chunk is one indexed query that starts after the last id of the one before), so
neither the launch nor a full gate evaluation ever holds the whole audience.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from regard.customers.models import Customer
from regard.outreach import gate
from regard.outreach.audience import audience_queryset
from regard.outreach.models import Campaign

CHUNK = 5_000


def audience_chunks(customers: QuerySet[Customer], *, size: int = CHUNK) -> Iterator[list[int]]:
    """The customers' ids in ascending order, ``size`` at a time."""
    last = 0
    while True:
        ids = list(customers.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        last = ids[-1]


@dataclass
class GatePlan:
    """What the gate would decide now for everyone in the audience."""

    audience: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)


def campaign_gate_plan(
    *,
    campaign: Campaign,
    now: datetime | None = None,
    size: int = CHUNK,
    progress: Callable[[GatePlan], None] | None = None,
) -> GatePlan:
    """Ask the gate about every member of the campaign's audience, one chunk of state at a time."""
    from regard.outreach.selectors import campaign_message_facts, recipients_load, settings_policy

    now = now or timezone.now()
    facts = campaign_message_facts(campaign)
    policy = settings_policy()
    audience = campaign.audience or {}
    with_categories = bool(audience.get("bought_categories") or audience.get("not_bought_categories"))
    plan = GatePlan()
    for ids in audience_chunks(audience_queryset(audience, now=now), size=size):
        recipients = recipients_load(
            ids, now=now, content_keys=[facts.content_key], with_categories=with_categories
        )
        for customer_id in ids:
            decision = gate.decide(facts, recipients[customer_id].state, now, policy)
            plan.by_outcome[decision.outcome.value] += 1
            plan.by_reason.update(decision.codes())
        plan.audience += len(ids)
        if progress is not None:
            progress(plan)
    return plan
