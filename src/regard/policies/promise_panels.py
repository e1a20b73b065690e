"""The promises panel on the conversation sidebar and on Customer 360 (registered in apps.py).

Each panel is one query (the open promises of the merge group) after the role check.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone

from regard.customers.models import Customer
from regard.customers.panels import Panel
from regard.policies.selectors.promises import promises_open_for_group
from regard.privacy import access
from regard.privacy.roles import Capability
from regard.support.models import Conversation

TEMPLATE = "policies/promises/_panel.html"


def _panel(actor: User | AnonymousUser, group: list[int], conversation: Conversation | None) -> Panel | None:
    if not access.has_capability(actor, Capability.PROMISE_WRITE):
        return None
    promises = promises_open_for_group(group=group)
    return Panel(
        key="promises",
        title="Open promises",
        template=TEMPLATE,
        context={
            "promises": promises,
            "conversation": conversation,
            "now": timezone.now(),
            "may_settle_all": access.has_capability(actor, Capability.PROMISE_READ_ALL),
            "actor_id": actor.pk,
        },
    )


def promises_sidebar_panel(
    actor: User | AnonymousUser, conversation: Conversation, group: list[int]
) -> Panel | None:
    return _panel(actor, group, conversation)


def promises_customer_panel(
    actor: User | AnonymousUser, customer: Customer, group: list[int]
) -> Panel | None:
    return _panel(actor, group, None)
