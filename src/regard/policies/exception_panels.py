"""The exceptions registry beside a conversation: a declined request's standard answer (S11)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from regard.customers.panels import Panel
from regard.policies.selectors.exceptions import declined_group_matching
from regard.privacy import access
from regard.privacy.roles import Capability
from regard.support.models import Conversation, Message


def declined_answer_panel(
    actor: User | AnonymousUser, conversation: Conversation, group_ids: list[int]
) -> Panel | None:
    """When the customer's latest message asks what was declined, offer the honest answer.

    Three queries: the latest inbound message, the declined groups' exemplars, the group.
    """
    if not access.has_capability(actor, Capability.EXCEPTION_LOG):
        return None
    latest = (
        Message.objects.filter(conversation=conversation, direction=Message.Direction.IN)
        .order_by("-created_at", "-id")
        .values_list("body_text", flat=True)
        .first()
    )
    if not latest:
        return None
    group, score = declined_group_matching(latest)
    if group is None:
        return None
    language = conversation.customer.language or "en"
    return Panel(
        key="exception_answer",
        title="Declined before: the standard answer",
        template="policies/_exception_answer_panel.html",
        context={"group": group, "answer": group.answer_in(language), "language": language, "score": score},
    )
