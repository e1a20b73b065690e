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


# Seed 001: "a longer guarantee for earphones" keeps coming back; nobody has decided yet.
LONGER_GUARANTEE_REQUESTS = [
    ("Can you extend the guarantee on my earphones? 40 days is far too short.", 40),
    ("I would like a longer guarantee for my earphones please", 33),
    ("Why is the warranty on earphones only 40 days? Could you give me a longer guarantee?", 26),
    ("My earbuds broke after two months - please extend the guarantee on the earphones", 19),
    ("Please give my earphones a longer warranty, two months is nothing", 9),
    ("Could the guarantee for these earphones be extended? They stopped after 50 days.", 3),
]


@transaction.atomic
def exceptions_demo_ensure(*, now: datetime | None = None) -> list[str]:
    """Six requests for a longer earphones guarantee over six weeks: a group a manager must decide (S11)."""
    from regard.customers.models import Customer
    from regard.policies.models import ExceptionEntry
    from regard.policies.services.exceptions import exception_log
    from regard.privacy.roles import Role
    from regard.privacy.services import user_create

    if ExceptionEntry.objects.exists():
        return []
    now = now or timezone.now()
    if not User.objects.filter(groups__name=Role.MANAGER.value).exists():
        user_create(username="mara", password=None, roles=[Role.MANAGER])
    customers = list(Customer.objects.filter(merged_into__isnull=True).order_by("id")[:6])
    if len(customers) < len(LONGER_GUARANTEE_REQUESTS):
        return []
    for customer, (text, days_ago) in zip(customers, LONGER_GUARANTEE_REQUESTS, strict=True):
        exception_log(
            customer=customer,
            request_text=text,
            action_taken="Explained the 40-day guarantee; no extension offered",
            category="guarantee",
            actor=None,
            now=now - timedelta(days=days_ago),
        )
    return [
        "Exceptions: six requests for a longer earphones guarantee, now due for a manager's decision (mara)"
    ]
