"""Every message to the person on Customer 360, with the gate's reasons in words (C3)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone

from regard.customers.models import Customer
from regard.customers.panels import Panel
from regard.outreach.selectors import messages_for_customers
from regard.privacy import access
from regard.privacy.roles import Capability


def messages_customer_panel(
    actor: User | AnonymousUser, customer: Customer, group: list[int]
) -> Panel | None:
    # Who may read consent may read what was sent under it: one capability for both sections.
    if not access.has_capability(actor, Capability.CONSENT_READ):
        return None
    messages = messages_for_customers(
        group, time_zone=customer.time_zone, now=timezone.now(), customer=customer
    )
    return Panel(
        key="messages",
        title="Messages",
        template="outreach/_customer_messages_panel.html",
        context={"messages": messages},
        place="main",
    )
