"""Who wants to know when something happens in a conversation.

SLA recomputation, live inbox pushes, webhooks and surveys (``SupportConfig.ready``) and
apps built on the desk (policies) register a callable here in their ``AppConfig.ready``, in
one visible list each, never as a side effect of an import; services call
``conversation_event`` which runs the hooks after the transaction commits, so a failing
hook never undoes or blocks the conversation's own write.

Event names: "conversation.created", "message.created", "conversation.status",
"conversation.assigned", "conversation.resolved", "conversation.handoff".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)
ConversationHook = Callable[[str, int, "int | None"], None]
_hooks: list[ConversationHook] = []

EVENTS = (
    "conversation.created",
    "message.created",
    "conversation.status",
    "conversation.assigned",
    "conversation.resolved",
    "conversation.handoff",
)


def register_conversation_event(fn: ConversationHook) -> None:
    if fn not in _hooks:
        _hooks.append(fn)


def registered() -> list[ConversationHook]:
    return list(_hooks)


def _run(event: str, conversation_id: int, message_id: int | None) -> None:
    for hook in list(_hooks):
        try:
            hook(event, conversation_id, message_id)
        except Exception:
            logger.exception("conversation hook %r failed for %s on %s", hook, event, conversation_id)


def conversation_event(event: str, conversation_id: int, message_id: int | None = None) -> None:
    """Run the registered hooks once the current transaction has committed."""
    if event not in EVENTS:
        raise ValueError(f"unknown conversation event {event!r}")
    if _hooks:
        transaction.on_commit(lambda: _run(event, conversation_id, message_id))
