"""Consent on Customer 360: what is in force per purpose and channel, and the full history."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from regard.consent.selectors import consent_history_for_customers
from regard.customers.models import Customer
from regard.customers.panels import Panel
from regard.privacy import access
from regard.privacy.roles import Capability


def consent_customer_panel(actor: User | AnonymousUser, customer: Customer, group: list[int]) -> Panel | None:
    """One query; the page's audited read names the section (customers.selectors.customer_360)."""
    if not access.has_capability(actor, Capability.CONSENT_READ):
        return None
    state, history = consent_history_for_customers(group)
    return Panel(
        key="consent",
        title="Consent",
        template="consent/_customer_consent_panel.html",
        context={"state": state, "history": history},
        place="main",
    )
