"""Websocket consumers: the customer's chat widget and the agents' live inbox (C4).

Both speak JSON objects with a ``type``. Bad input gets ``{"type": "error", "field": ...,
"detail": ...}`` and changes nothing; a socket that cannot be served (unknown site key, an
origin the site does not list, a refused identity token) is told why and closed.

Customer (``/ws/support/chat/?key=<site key>``), in order:
    → {"type": "hello", "identity": "<signed token or empty>", "visitor": "<id from last time>"}
    ← {"type": "welcome", "visitor", "identified", "greeting", "agents_online", "conversation",
       "messages", "queue", "notice", "ask_email"}
    → {"type": "message", "text": "..."}          ← {"type": "message", ...} and maybe "queue"
    → {"type": "handoff"}                         ← {"type": "queue", ...} ("Talk to a person")
    → {"type": "offline", "text", "email", "consent": true}   ← {"type": "offline_received", ...}
    ← {"type": "message"} (a person's reply), {"type": "queue"} (the line moved)

Agent (``/ws/support/inbox/``, signed in, support role):
    ← {"type": "inbox", "queue": [...]}, then {"type": "event", "event", "conversation", "message"?}
    → {"type": "reply", "conversation": id, "text": "...", "override": false}
    → {"type": "ping"} every 30 s (keeps the agent counted as online)
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async as _database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone, translation
from django.utils.translation import gettext

from regard.errors import InvalidInput, NotFound, RegardError
from regard.privacy import access
from regard.privacy.roles import Capability
from regard.support import chat, live, queue, services
from regard.support.identity import identity_read
from regard.support.models import AgentPresence, ChatSite, Conversation
from regard.web.ratelimit import client_hit

# The capability an agent needs to open the live inbox (it shows customers' names and messages).
INBOX_CAPABILITY = Capability.CONVERSATION_READ
# A widget may send this many frames per window; more is refused (public endpoint, invariant 6).
RATE_LIMIT = 20
RATE_WINDOW_SECONDS = 10.0
CLOSE_REFUSED = 4403
T = TypeVar("T")
CLOSE_UNKNOWN_SITE = 4404


# Database work from the sockets of one process waits here for a slot rather than at the connection
# pool: with hundreds of chats, the pool (8 per process) would otherwise time out after 10 s.
DATABASE_SLOTS = 6
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def database_sync_to_async(fn: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """``channels.db.database_sync_to_async`` that never holds more than DATABASE_SLOTS connections."""
    call = _database_sync_to_async(fn)

    async def limited(*args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        gate = _slots.get(loop)
        if gate is None:
            gate = _slots[loop] = asyncio.Semaphore(DATABASE_SLOTS)
        async with gate:
            return await call(*args, **kwargs)

    return limited


def _origin(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return bytes(value).decode("latin1")
    return ""


def origin_allowed(origin: str, site: ChatSite) -> bool:
    """The page embedding the widget must be one the chat site lists, or Regard's own host."""
    if not origin:
        return False
    patterns = [str(p) for p in (site.allowed_origins or [])] + list(settings.ALLOWED_HOSTS)
    return bool(OriginValidator(None, patterns).valid_origin(urlparse(origin)))


def _client_ip(scope: dict[str, Any]) -> str:
    client = scope.get("client") or ("", 0)
    return str(client[0])


def _user_agent(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == b"user-agent":
            return bytes(value).decode("latin1")[:300]
    return ""


def _new_chat_over_limit(scope: dict[str, Any]) -> bool:
    client = scope.get("client") or ("", 0)
    return client_hit(address=str(client[0]), group="chat-new", rate=settings.REGARD_CHAT_RATE_LIMIT)


def visitor_language(asked: object, scope: dict[str, Any]) -> str:
    """The widget's `language` (the browser's), else the handshake's Accept-Language, else the
    site default: automated chat texts are written in it."""
    candidates = [asked] if isinstance(asked, str) else []
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            header = bytes(value).decode("latin1")[:200]
            candidates += [part.split(";")[0].strip() for part in header.split(",")]
    for candidate in candidates:
        try:
            return translation.get_supported_language_variant(candidate[:35].strip())
        except LookupError:
            continue
    return str(settings.LANGUAGE_CODE)


class ChatConsumer(AsyncJsonWebsocketConsumer):
    site: ChatSite | None = None
    language: str = settings.LANGUAGE_CODE
    visitor: chat.Visitor | None = None
    conversation_id: int | None = None

    async def connect(self) -> None:
        key = parse_qs(self.scope.get("query_string", b"").decode("latin1")).get("key", [""])[0]
        self.site = await database_sync_to_async(ChatSite.objects.filter(key=key).first)() if key else None
        self.sent: list[float] = []
        await self.accept()
        if self.site is None:
            await self._error("key", "key: no chat site has this key (check the widget's data-key).")
            await self.close(code=CLOSE_UNKNOWN_SITE)
            return
        if not origin_allowed(_origin(self.scope), self.site):
            await self._error("origin", "origin: this page's origin is not allowed for this chat site.")
            await self.close(code=CLOSE_REFUSED)
            self.site = None

    async def disconnect(self, code: int) -> None:
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(
                live.conversation_group(self.conversation_id), self.channel_name
            )

    async def _error(self, field: str, detail: str) -> None:
        await self.send_json({"type": "error", "field": field, "detail": detail})

    def _over_limit(self) -> bool:
        now = time.monotonic()
        self.sent = [t for t in self.sent if now - t < RATE_WINDOW_SECONDS]
        self.sent.append(now)
        return len(self.sent) > RATE_LIMIT

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.site is None:
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._error("type", "type: every frame is a JSON object with a 'type'.")
            return
        if self._over_limit():
            await self._error("rate", "rate: too many messages; wait a few seconds.")
            return
        kind = content["type"]
        if kind == "hello":
            await self._hello(content)
            return
        if self.visitor is None:
            await self._error("type", "type: send 'hello' first.")
            return
        handlers = {"message": self._message, "handoff": self._handoff, "offline": self._offline}
        handler = handlers.get(kind)
        if handler is None:
            await self._error("type", f"type: '{kind[:30]}' is not one of hello, {', '.join(handlers)}.")
            return
        try:
            with translation.override(self.language):
                await handler(content)
        except RegardError as error:
            await self._error(error.field or "", error.message)

    async def _hello(self, content: dict[str, Any]) -> None:
        assert self.site is not None
        if self.visitor is not None:
            await self._error("type", "type: 'hello' was already sent on this connection.")
            return
        token = content.get("identity") or ""
        identity = None
        if token:
            try:
                identity = identity_read(str(token), secret=self.site.secret)
            except RegardError as error:
                # S20 cuts both ways: a forged token must not make anyone anybody. Refuse, change nothing.
                await self._error("identity", error.message)
                await self.close(code=CLOSE_REFUSED)
                self.site = None
                return
        self.visitor = chat.Visitor(
            site=self.site, visitor_id=chat.visitor_id_clean(content.get("visitor")), identity=identity
        )
        self.language = visitor_language(content.get("language"), self.scope)
        with translation.override(self.language):
            welcome = await database_sync_to_async(_welcome)(self.visitor)
        if welcome["conversation"]:
            await self._join(welcome["conversation"])
        await self.send_json(welcome)

    async def _join(self, conversation_id: int) -> None:
        if self.conversation_id != conversation_id:
            if self.conversation_id is not None:
                await self.channel_layer.group_discard(
                    live.conversation_group(self.conversation_id), self.channel_name
                )
            self.conversation_id = conversation_id
            await self.channel_layer.group_add(live.conversation_group(conversation_id), self.channel_name)

    async def _message(self, content: dict[str, Any]) -> None:
        assert self.visitor is not None
        # A new socket and a new visitor id per message must not open conversations without
        # end: new conversations are counted per client address, across processes.
        if self.conversation_id is None and await database_sync_to_async(_new_chat_over_limit)(self.scope):
            await self._error("rate", "rate: too many new chats from this address; try again later.")
            return
        receipt = await database_sync_to_async(chat.chat_message_receive)(
            visitor=self.visitor, text=content.get("text")
        )
        await self._join(receipt.conversation.pk)
        if receipt.message is not None:
            await self.send_json({"type": "message", **chat.message_payload(receipt.message)})
        if receipt.is_new or receipt.handed_off:
            await self._send_place(receipt.conversation)

    async def _handoff(self, content: dict[str, Any]) -> None:
        assert self.visitor is not None
        receipt = await database_sync_to_async(chat.chat_handoff_request)(visitor=self.visitor)
        await self._join(receipt.conversation.pk)
        await self._send_place(receipt.conversation)

    async def _send_place(self, conversation: Conversation) -> None:
        place = await database_sync_to_async(queue.queue_place)(conversation)
        await self.send_json({"type": "queue", "queue": place.as_dict() if place else None})

    async def _offline(self, content: dict[str, Any]) -> None:
        assert self.visitor is not None
        conversation = await database_sync_to_async(chat.chat_to_email)(
            visitor=self.visitor,
            text=content.get("text"),
            email=content.get("email") or "",
            consent=content.get("consent") is True,
            proof={"ip": _client_ip(self.scope), "user_agent": _user_agent(self.scope)},
        )
        await self.send_json(
            {
                "type": "offline_received",
                "conversation": conversation.pk,
                "text": chat.automated(
                    gettext("Thank you: we answer by email, reference %(reference)s.")
                    % {"reference": f"[#{conversation.token}]"}
                ),
            }
        )

    # Messages from the channel layer (support/live.py).
    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "message", **event["message"]})

    async def chat_queue(self, event: dict[str, Any]) -> None:
        # The place was described in the sender's language; say it again in this visitor's.
        place = event["queue"]
        if place is not None:
            with translation.override(self.language):
                place = {**place, "text": queue.describe(queue.QueuePlace.from_dict(place))}
        await self.send_json({"type": "queue", "queue": place})


def _welcome(visitor: chat.Visitor) -> dict[str, Any]:
    customer = chat.visitor_customer_find(visitor)
    conversation = chat.chat_current(customer=customer, site=visitor.site) if customer else None
    online = queue.agents_online()
    place = queue.queue_place(conversation) if conversation else None
    has_email = bool(customer and customer.identifiers.filter(kind="email").exists())
    if online:
        notice = gettext("Write your question here; a person from our team answers.")
    else:
        notice = gettext("Nobody is online right now: leave your question and we answer by email.")
    return {
        "type": "welcome",
        "visitor": visitor.visitor_id,
        "identified": visitor.identity is not None,
        # S20: a recognised customer is greeted as they asked to be, and never asked who they are.
        "greeting": customer.greeting if customer and visitor.identity is not None else gettext("Hello"),
        "ask_email": not (visitor.identity is not None and (has_email or visitor.identity.kind == "email")),
        "agents_online": online,
        "conversation": conversation.pk if conversation else None,
        "messages": chat.chat_history(conversation) if conversation else [],
        "queue": place.as_dict() if place else None,
        "notice": chat.automated(notice),
        # The widget shows this beside its checkbox; the proof records the same words.
        "consent_text": gettext(chat.OFFLINE_CONSENT_TEXT),
        "language": translation.get_language(),
    }


class AgentInboxConsumer(AsyncJsonWebsocketConsumer):
    user: User | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        allowed = user is not None and await database_sync_to_async(access.has_capability)(
            user, INBOX_CAPABILITY
        )
        if not allowed:
            await self.close(code=CLOSE_REFUSED)  # refused at the handshake: nothing is sent
            return
        self.user = user
        await self.accept()
        await self.channel_layer.group_add(live.INBOX_GROUP, self.channel_name)
        snapshot = await database_sync_to_async(_inbox_connect)(user, self.channel_name)
        await self.send_json(snapshot)

    async def disconnect(self, code: int) -> None:
        if self.user is None:
            return
        await self.channel_layer.group_discard(live.INBOX_GROUP, self.channel_name)
        await database_sync_to_async(AgentPresence.objects.filter(channel_name=self.channel_name).delete)()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_json(
                {"type": "error", "field": "type", "detail": "type: a JSON object with a 'type'."}
            )
            return
        kind = content["type"]
        try:
            if kind == "ping":
                await database_sync_to_async(_presence_touch)(self.channel_name)
                await self.send_json({"type": "pong"})
            elif kind == "reply":
                await database_sync_to_async(_reply)(self.user, content)
            else:
                await self.send_json(
                    {
                        "type": "error",
                        "field": "type",
                        "detail": f"type: '{kind[:30]}' is not one of ping, reply.",
                    }
                )
        except RegardError as error:
            await self.send_json({"type": "error", **error.as_dict()})

    async def inbox_event(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "event", **event["payload"]})

    async def inbox_snapshot(self, event: dict[str, Any]) -> None:
        await self.send_json(event["payload"])


def _inbox_connect(user: User, channel_name: str) -> dict[str, Any]:
    now = timezone.now()
    AgentPresence.objects.create(user=user, channel_name=channel_name, connected_at=now, seen_at=now)
    return live.inbox_snapshot()


def _presence_touch(channel_name: str) -> None:
    AgentPresence.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())


def _reply(user: User | None, content: dict[str, Any]) -> None:
    access.require(user or AnonymousUser(), Capability.CONVERSATION_WRITE)
    conversation_id = content.get("conversation")
    if not isinstance(conversation_id, int):
        raise InvalidInput("conversation: the conversation's id (a number).", field="conversation")
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound(f"conversation: no conversation with id {conversation_id}.", field="conversation")
    services.reply_send(
        actor=user,
        conversation=conversation,
        body_text=chat.clean_text(content.get("text")),
        override=content.get("override") is True,
    )
