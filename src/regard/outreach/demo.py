"""Outreach in the demo of `regard serve` (C8): a campaign to preview, one under way, a journey.

- "Spring newsletter (demo)": a draft over everyone, to preview and launch by hand; half the
  demo people signed up for the newsletter on a form, so the preview shows allowed and dropped.
- "Willkommen (demo)": launched at start for the German-speaking newsletter readers, so its
  progress moves, and its mail lands in the local mailbox (`regard mailbox`) with a working
  one-click unsubscribe and preference link, in German.
- The abandoned-cart journey: Anna Weber left a cart; her two reminders are planned and show
  on her Customer 360 page.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from regard.consent.services import consent_grant
from regard.customers.models import Customer, Identifier
from regard.outreach import events
from regard.outreach.models import Campaign
from regard.outreach.services import campaign_create, campaign_launch

DRAFT_NAME = "Spring newsletter (demo)"
LAUNCHED_NAME = "Willkommen (demo)"
CART_EMAIL = "anna.weber@example.de"


@transaction.atomic
def outreach_demo_ensure(*, now: datetime | None = None) -> list[str]:
    """Create the demo's campaigns and journey once; answers what was made, for the console."""
    if Campaign.objects.exists():
        return []
    now = now or timezone.now()
    emails = Identifier.objects.filter(kind="email", customer__merged_into__isnull=True)
    customer_ids = sorted(set(emails.values_list("customer_id", flat=True)))[::2]
    signed_up = list(Customer.objects.filter(pk__in=customer_ids))
    cart_owner = Customer.objects.filter(
        identifiers__kind="email", identifiers__value_normalised=CART_EMAIL
    ).first()
    if cart_owner is not None and cart_owner not in signed_up:
        signed_up.append(cart_owner)
    for customer in signed_up:
        consent_grant(
            actor=None,
            customer=customer,
            purpose="newsletter",
            channel="email",
            source="form",
            proof={"form_text_version": "demo-signup-1", "note": "demo data"},
            via="cli",
            now=now,
        )
    campaign_create(
        actor=None,
        name=DRAFT_NAME,
        purpose="newsletter",
        subject="What is new this spring",
        body=(
            "{{ greeting }},\n\nHere is what is new this spring at our shop.\n\n"
            "You get this letter because you asked for it; one click below stops it."
        ),
        via="cli",
        now=now,
    )
    welcome = campaign_create(
        actor=None,
        name=LAUNCHED_NAME,
        purpose="newsletter",
        subject="Willkommen bei unserem Newsletter",
        body=(
            "{{ greeting }},\n\nschön, dass Sie dabei sind. Einmal im Monat schreiben wir Ihnen, "
            "was es Neues gibt.\n\nWeniger, andere Themen oder gar nichts mehr: unten können Sie es wählen."
        ),
        audience={"languages": ["de"], "has_consent": {"purpose": "newsletter"}},
        via="cli",
        now=now,
    )
    planned = campaign_launch(actor=None, campaign=welcome, via="cli", now=now)
    made = [
        f"Demo campaigns: '{DRAFT_NAME}' (a draft: preview it, then launch) and "
        f"'{LAUNCHED_NAME}' (launched to {planned}; its mail lands in the demo mailbox)."
    ]
    if cart_owner is not None:
        consent_grant(
            actor=None, customer=cart_owner, purpose="offers", channel="email", source="form",
            proof={"form_text_version": "demo-signup-1", "note": "demo data"}, via="cli", now=now,
        )  # fmt: skip
        events.event_record(
            actor=None,
            customer=cart_owner,
            type="cart_abandoned",
            data={"cart_id": "demo-cart-1", "items": [{"sku": "EAR-200", "quantity": 1}]},
            via="cli",
            now=now,
        )
        made.append(f"Demo journey: customer {cart_owner.pk} left a cart; two reminders are planned.")
    return made
