"""Demo data for remedies: the earphones policy of seed 001, beside Mr Dent's complaint."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from regard.customers.models import Identifier
from regard.policies.models import Promise, RemedyPolicy
from regard.policies.services.promises import promise_break_if_due, promise_record
from regard.policies.services.remedies import remedy_policy_create
from regard.support.models import Conversation

DEMO_CUSTOMER_EMAIL = "arthur.dent@example.org"

EARPHONES_WINDOWS = [
    {"from_day": 0, "to_day": 40, "remedies": [{"kind": "replacement"}, {"kind": "refund"}]},
    {
        "from_day": 41,
        "to_day": 365,
        "remedies": [{"kind": "repair"}, {"kind": "credit", "max_amount": "10.00", "currency": "EUR"}],
    },
    {
        "from_day": 366,
        "to_day": None,
        "remedies": [{"kind": "goodwill", "max_amount": "20.00", "currency": "EUR"}],
    },
]
EARPHONES_WORDING = {
    "en": "Your earphones are outside our 40-day guarantee. We would still like to make it right:"
    " we can repair them, or give you a 10 € credit, no strings attached.",
    "de": "Ihre Kopfhörer sind außerhalb unserer 40-Tage-Garantie. Wir möchten es trotzdem gut machen:"
    " Wir reparieren sie, oder Sie bekommen eine Gutschrift von 10 €, ohne Bedingungen.",
}


@transaction.atomic
def remedies_demo_ensure(*, now: datetime | None = None) -> list[str]:
    """The earphones policy (S10); Mr Dent's complaint about two-month-old earphones shows it."""
    if RemedyPolicy.objects.filter(category="earphones", sku="", country="").exists():
        return []
    remedy_policy_create(
        actor=None,
        name="Earphones: 40-day guarantee",
        category="earphones",
        windows=EARPHONES_WINDOWS,
        wording=EARPHONES_WORDING,
        now=now or timezone.now(),
    )
    return [
        "Remedy policy 'Earphones: 40-day guarantee' (0–40 days replacement or refund; then repair or a 10 € credit)"
    ]


@transaction.atomic
def promises_demo_ensure(*, now: datetime | None = None) -> list[str]:
    """Mr Dent's promises (S22): a callback due tomorrow, and a replacement promised weeks ago and broken."""
    now = now or timezone.now()
    owner = (
        User.objects.filter(groups__name="agent").order_by("id").first()
        or User.objects.filter(is_superuser=True).order_by("id").first()
    )
    identifier = (
        Identifier.objects.select_related("customer")
        .filter(kind="email", value_normalised=DEMO_CUSTOMER_EMAIL)
        .first()
    )
    if owner is None or identifier is None or Promise.objects.filter(customer=identifier.customer).exists():
        return []
    customer = identifier.customer
    conversation = Conversation.objects.filter(customer=customer).order_by("created_at").first()
    promise_record(
        customer=customer,
        conversation=conversation,
        kind=Promise.Kind.CALLBACK,
        what="Call Mr Dent back about the replacement earphones",
        owner=owner,
        actor=None,
        due_at=now + timedelta(days=1),
        source="demo",
        via="demo",
        now=now,
    )
    made = now - timedelta(days=21)
    broken = promise_record(
        customer=customer,
        conversation=conversation,
        kind=Promise.Kind.SHIPMENT,
        what="Send a replacement charging case within 3 days",
        owner=owner,
        actor=None,
        due_at=made + timedelta(days=3),
        source="demo",
        via="demo",
        now=made,
    )
    promise_break_if_due(promise_id=broken.pk, now=made + timedelta(days=3, minutes=1))
    return [
        "Promises to Mr Dent: a callback due tomorrow, and a replacement case promised three weeks ago and broken"
    ]
