"""What policies does when something happens on the support desk (registered in apps.py)."""

from __future__ import annotations

from regard.policies.services.promises import promise_keep_by_call


def keep_callbacks_on_call(event: str, conversation_id: int, message_id: int | None) -> None:
    """A phone call logged with the customer keeps their open callback promise (S22)."""
    if event == "conversation.created":
        promise_keep_by_call(conversation_id=conversation_id)
