"""Demo data for remedies: the earphones policy of seed 001, beside Mr Dent's complaint."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from regard.policies.models import RemedyPolicy
from regard.policies.services.remedies import remedy_policy_create

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
