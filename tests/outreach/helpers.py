from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from regard.consent import services as consent_services
from regard.customers.models import Customer
from regard.outreach import services
from regard.outreach.models import Campaign, OutboxMessage
from tests.customers.factories import make_customer, unique


def daytime_zone(now: datetime | None = None) -> str:
    """A fixed-offset zone where it is around noon now, so quiet hours never hold the test's mail.

    The gate keeps the customer's night quiet (21:00-08:00 in their zone); a suite that runs
    in the evening must not find its mail held for that.
    """
    moment = now or timezone.now()
    offset = max(-12, min(14, 12 - moment.astimezone(UTC).hour))
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def subscriber(
    *, purpose: str = "newsletter", granted_at: datetime | None = None, **profile: Any
) -> tuple[Customer, str]:
    address = f"reader{unique()}@example.org"
    profile.setdefault("time_zone", daytime_zone())
    customer = make_customer(identifiers=[("email", address)], **profile)
    consent_services.consent_grant(
        actor=None,
        customer=customer,
        purpose=purpose,
        channel="email",
        source="form",
        proof={"ip": "203.0.113.5"},
        now=granted_at,
    )
    return customer, address


def running_campaign(**fields: Any) -> Campaign:
    values = {
        "name": f"Spring letter {unique()}",
        "purpose": "newsletter",
        "subject": "News for you",
        "body": "{{ greeting }},\n\nHere is what is new this spring.",
        "state": Campaign.State.RUNNING,
        "created_at": timezone.now(),
    } | fields
    return Campaign.objects.create(**values)


def enqueue_for(campaign: Campaign, customer: Customer) -> OutboxMessage:
    row, _ = services.outbox_enqueue(
        customer=customer,
        kind="marketing",
        purpose=campaign.purpose,
        dedupe_key=f"campaign:{campaign.pk}:customer:{customer.pk}",
        content_key=f"campaign:{campaign.pk}",
        campaign=campaign,
        topics=campaign.topics,
    )
    return row
