"""The policies app's panels on the conversation sidebar and Customer 360 (registered in apps.py)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from regard.customers.models import Customer
from regard.customers.panels import Panel
from regard.policies.models import RemedyKind
from regard.policies.selectors.remedies import (
    _group_lines,
    entitlements_for_lines,
    line_the_conversation_is_about,
)
from regard.privacy import access
from regard.privacy.roles import Capability
from regard.support.models import Conversation


def entitlement_beside_conversation(
    actor: User | AnonymousUser, conversation: Conversation, group: list[int], line_id: int | None = None
) -> Panel | None:
    """S10: before typing a word, the agent sees what the purchase the customer writes about entitles them to."""
    if not access.has_capability(actor, Capability.CUSTOMER_READ):
        return None
    items = entitlements_for_lines(_group_lines(group), customer=conversation.customer)
    chosen = next((i for i in items if i.line.pk == line_id), None) if line_id else None
    if chosen is None:
        texts = [
            conversation.subject,
            *conversation.messages.filter(direction="in").values_list("body_text", flat=True)[:20],
        ]
        chosen = line_the_conversation_is_about(texts, items)
    return Panel(
        key="entitlement",
        title="Entitlement",
        template="policies/_entitlement_panel.html",
        context={
            "conversation": conversation,
            "items": items,
            "chosen": chosen,
            "kinds": RemedyKind.values,
            "may_grant": access.has_capability(actor, Capability.REMEDY_GRANT),
        },
    )


def entitlements_on_customer(
    actor: User | AnonymousUser, customer: Customer, group: list[int]
) -> Panel | None:
    if not access.has_capability(actor, Capability.CUSTOMER_READ):
        return None
    items = entitlements_for_lines(_group_lines(group), customer=customer)
    if not items:
        return None
    return Panel(
        key="entitlements",
        title="Entitlements",
        template="policies/_entitlements_card.html",
        context={"items": items},
    )
