from __future__ import annotations

from typing import Any

from django.utils import timezone

from regard.consent import services as consent_services
from regard.customers.models import Customer
from regard.outreach import services
from regard.outreach.models import Campaign, OutboxMessage
from tests.customers.factories import make_customer, unique


def subscriber(*, purpose: str = "newsletter", **profile: Any) -> tuple[Customer, str]:
    address = f"reader{unique()}@example.org"
    profile.setdefault("time_zone", "UTC")
    customer = make_customer(identifiers=[("email", address)], **profile)
    consent_services.consent_grant(
        actor=None,
        customer=customer,
        purpose=purpose,
        channel="email",
        source="form",
        proof={"ip": "203.0.113.5"},
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
