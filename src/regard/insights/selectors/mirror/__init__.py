"""The customer mirror (C6, S23): what the company did to one person, from the records it keeps.

Seed 004: "hold up an unrelenting mirror to the way your firm touches individual customers".
Every figure is computed from the rows themselves (outbox rows with their gate decisions,
conversations and their messages, surveys, promises, consent events, feedback mail), over
the merge group, in a fixed number of queries whatever the length of the history: counts
are aggregated in SQL; only rows that are few by nature (held or dropped messages,
conversations and their messages in the period) are read into Python, as plain tuples.
A process serves a mirror again while every row it read is unchanged (`cache`).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from django.urls import reverse
from django.utils import timezone

from regard.customers.models import Customer
from regard.customers.selectors import customer_current, customer_group_ids
from regard.errors import NotFound
from regard.insights.selectors.mirror.cache import cache_key, remembered
from regard.insights.selectors.mirror.contact import contacts_section, gate_section
from regard.insights.selectors.mirror.records import MAX_DAYS, Contacts, Mirror, Period, mirror_period
from regard.insights.selectors.mirror.signals import feedback_section, promises_section, repeats_section
from regard.insights.selectors.mirror.verdict import verdict_of
from regard.insights.selectors.mirror.waits import RememberedCalendar, conversations_section
from regard.outreach.gate import zone_or_utc
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record_reads

__all__ = ["MAX_DAYS", "Contacts", "Mirror", "RememberedCalendar", "customer_mirror", "mirror_period"]

# --- the selector -----------------------------------------------------------------------------


def customer_mirror(
    *,
    actor: AnyUser,
    customer_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    via: str = "api",
    now: datetime | None = None,
) -> Mirror:
    """The mirror of one person (and every profile merged into them) over [since, until).

    A personal-data read: needs MIRROR_READ and writes one audit row per profile shown.
    """
    access.require(actor, Capability.MIRROR_READ)
    now = now or timezone.now()
    # The default period ends at the last whole second: it is stated in the answer, and a
    # mirror asked again within the second over unchanged rows is the one just computed.
    period = mirror_period(since=since, until=until, now=now.replace(microsecond=0))
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"id: no customer with id {customer_id}.", field="id")
    # An absorbed profile's records live with the survivor now: its mirror is the survivor's.
    customer = customer_current(customer)
    group = customer_group_ids(customer)
    audit_record_reads(
        actor=actor,
        customer_ids=group,
        object_type="mirror",
        via=via,
        detail={"since": period.since.isoformat(), "until": period.until.isoformat()},
    )
    key = cache_key(group, period.since, period.until, now, customer.time_zone)
    if key is not None and (cached := remembered.get(key)) is not None:
        return cast(Mirror, cached)
    mirror = _mirror_of(customer, group, period, now)
    return remembered.put(key, mirror) if key is not None else mirror


def _mirror_of(customer: Customer, group: list[int], period: Period, now: datetime) -> Mirror:
    contacts = contacts_section(customer, group, period)
    gate = gate_section(customer, group, period)
    conversations, conversation_rows = conversations_section(group, period, now)
    promises = promises_section(group, period)
    repeats = repeats_section(group, period, conversation_rows)
    feedback = feedback_section(group, period, conversation_rows)
    return Mirror(
        customer=customer,
        group_ids=group,
        period=period,
        time_zone=customer.time_zone,
        verdict=verdict_of(
            contacts, conversations, promises, repeats, feedback, zone_or_utc(customer.time_zone)
        ),
        contacts=contacts,
        gate=gate,
        conversations=conversations,
        promises=promises,
        repeats=repeats,
        feedback=feedback,
        links={
            "customer": reverse("customers:detail", args=[customer.pk]),
            "page": reverse("insights:mirror", args=[customer.pk]),
        },
    )
