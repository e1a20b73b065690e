"""Live pushes: a conversation event from any channel reaches open inbox pages and chat widgets.

Registered with ``support.hooks`` (after commit), so mail taken by ``regard smtpd``, a logged
call, a web form or a chat message all update the agents' inbox without a reload. Across
processes this needs the Redis channel layer (``REDIS_URL``); the in-memory layer reaches
sockets of the same process only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from regard.support import queue
from regard.support.chat import message_payload
from regard.support.models import Conversation, Message

logger = logging.getLogger(__name__)

INBOX_GROUP = "support.inbox"
# Events after which a customer may leave the line, so everyone behind them moves up. (Joining
# the line, or asking again while in it, changes nobody else's place.)
QUEUE_MOVES = frozenset({"conversation.status", "conversation.resolved", "conversation.assigned"})
_pending: set[asyncio.Task[None]] = set()


def conversation_group(conversation_id: int) -> str:
    return f"support.conversation.{conversation_id}"


def inbox_item(conversation: Conversation, place: queue.QueuePlace | None = None) -> dict[str, Any]:
    """One row of the live inbox: enough to show and sort it; the page links to the details."""
    return {
        "id": conversation.pk,
        "token": conversation.token,
        "customer": conversation.customer.display_name,
        "customer_id": conversation.customer_id,
        "channel": conversation.channel,
        "status": conversation.status,
        "subject": conversation.subject,
        "wants_human": conversation.wants_human,
        "handoff_count": conversation.handoff_count,
        "assignee": conversation.assignee.get_username() if conversation.assignee else "",
        "position": place.position if place else None,
        "updated_at": conversation.updated_at.isoformat(),
    }


def inbox_snapshot() -> dict[str, Any]:
    """Everyone waiting for a person, in order: sent to an inbox page on connect and when the line moves."""
    waiting = list(queue.waiting_conversations().select_related("customer", "assignee")[:200])
    return {
        "type": "inbox",
        "queue": [
            inbox_item(c, queue.QueuePlace(c.pk, index + 1, len(waiting), None, 0))
            for index, c in enumerate(waiting)
        ],
    }


def _send_all(messages: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send() -> None:
        for group, message in messages:
            await layer.group_send(group, message)

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(send)()  # a worker thread, a view, a command: no loop of our own here
    else:
        # Called inside an event loop's own thread (e.g. the SMTP listener): do not block it.
        task = loop.create_task(send())
        _pending.add(task)
        task.add_done_callback(_pending.discard)


def queue_messages(team_id: int | None) -> list[tuple[str, dict[str, Any]]]:
    """Each waiting customer's new place in line."""
    return [
        (conversation_group(place.conversation_id), {"type": "chat.queue", "queue": place.as_dict()})
        for place in queue.queue_places(team_id=team_id)
    ]


def conversation_event_push(event: str, conversation_id: int, message_id: int | None) -> None:
    """The hook: tell the inbox, the customer's widget, and everyone in line what changed."""
    conversation = (
        Conversation.objects.select_related("customer", "assignee").filter(pk=conversation_id).first()
    )
    if conversation is None:
        return
    message = (
        Message.objects.select_related("author").filter(pk=message_id, conversation=conversation).first()
        if message_id
        else None
    )
    is_chat = conversation.channel == Conversation.Channel.CHAT
    picked_up = message is not None and message.direction == Message.Direction.OUT
    # A customer's message in a chat changes nobody's place: skip the counting on the hot path.
    places_change = is_chat and (event != "message.created" or picked_up)
    place = queue.queue_place(conversation) if places_change else None
    item = inbox_item(conversation, place)
    if not places_change:
        del item["position"]  # unknown here, not "out of line": the page keeps what it knows
    payload: dict[str, Any] = {"event": event, "conversation": item}
    if message is not None:
        payload["message"] = message_payload(message)
    outgoing: list[tuple[str, dict[str, Any]]] = [(INBOX_GROUP, {"type": "inbox.event", "payload": payload})]
    if is_chat and picked_up and message is not None:
        # The customer's own messages are echoed by their socket; replies reach them here.
        outgoing.append(
            (
                conversation_group(conversation.pk),
                {"type": "chat.message", "message": message_payload(message)},
            )
        )
    if is_chat and (event in QUEUE_MOVES or picked_up):
        if place is None:
            outgoing.append((conversation_group(conversation.pk), {"type": "chat.queue", "queue": None}))
        outgoing += queue_messages(conversation.team_id)
        outgoing.append((INBOX_GROUP, {"type": "inbox.snapshot", "payload": inbox_snapshot()}))
    elif is_chat and place is not None and event == "conversation.handoff":
        outgoing.append(
            (conversation_group(conversation.pk), {"type": "chat.queue", "queue": place.as_dict()})
        )
    _send_all(outgoing)
