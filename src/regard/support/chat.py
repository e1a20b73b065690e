"""Live chat from the widget: who the visitor is, their messages, the hand-off to a person (C4, S17, S20).

Every write goes through the conversation services (support/services.py), so a chat message
lands on the customer's timeline and runs the same hooks (SLA, webhooks, the live inbox) as
mail, phone and forms. The websocket consumer (support/consumers.py) only calls these.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from regard.consent.services import consent_grant
from regard.customers import normalise
from regard.customers import services as customer_services
from regard.customers.models import Customer, Identifier
from regard.customers.selectors import customer_current, customer_resolve
from regard.customers.services import timeline_append
from regard.errors import InvalidInput
from regard.support import hooks, queue, services
from regard.support.handoff import asks_for_person
from regard.support.identity import Identity
from regard.support.models import ChatSite, Conversation, Message

VIA = "chat"
MAX_TEXT = 4000
VISITOR_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
# A chat the customer comes back to within this time continues; later, a new one starts.
RESUME_WITHIN = timedelta(hours=24)
HISTORY_LIMIT = 50
OFFLINE_FORM_VERSION = "chat-offline-email-1"
# Shown by the widget in the visitor's language (sent in the welcome frame) and kept as proof
# in the language it was shown in.
OFFLINE_CONSENT_TEXT = gettext_noop("Nobody is online right now. Answer me by email at this address.")


def visitor_id_new() -> str:
    return secrets.token_urlsafe(18)


def visitor_id_clean(value: object) -> str:
    """The browser's visitor id if it is one Regard could have issued, else a new one."""
    return value if isinstance(value, str) and VISITOR_RE.match(value) else visitor_id_new()


def clean_text(text: object, *, field: str = "text") -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"{field}: must be text.", field=field)
    if "\x00" in text:
        raise InvalidInput(f"{field}: must not contain NUL characters.", field=field)
    text = text.strip()
    if not text:
        raise InvalidInput(f"{field}: must not be empty.", field=field)
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{field}: longer than {MAX_TEXT} characters.", field=field)
    return text


def automated(text: str) -> str:
    """Every automated chat text says how to reach a person (S17)."""
    return text if "person" in text.casefold() else f"{text} {queue.PERSON_HINT}"


@dataclass(frozen=True)
class Visitor:
    """Who is on the other end of a widget: a signed-in customer, or a browser's visitor id."""

    site: ChatSite
    visitor_id: str
    identity: Identity | None = None


def visitor_customer_find(visitor: Visitor) -> Customer | None:
    """The profile the visitor already has, if any (reading only: a page view creates nothing)."""
    if visitor.identity is not None:
        found = customer_resolve(kind=visitor.identity.kind, value=visitor.identity.value)
    else:
        found = customer_resolve(kind=Identifier.Kind.CHAT, value=visitor.visitor_id)
    return customer_current(found) if found is not None else None


def visitor_customer(visitor: Visitor, *, now: datetime | None = None) -> Customer:
    """The visitor's profile, created on their first message (an unknown visitor gets a new one)."""
    found = visitor_customer_find(visitor)
    if found is not None:
        return found
    if visitor.identity is not None and visitor.identity.kind == "email":
        return services.customer_for_contact(email=visitor.identity.value, via=VIA, now=now)
    kind, value = (
        ("account", visitor.identity.value) if visitor.identity is not None else ("chat", visitor.visitor_id)
    )
    return customer_services.customer_create(
        actor=None,
        identifiers=[customer_services.IdentifierInput(kind, value)],
        source=VIA,
        via=VIA,
        now=now,
        erased_may_return=True,  # Art. 17: they may still ask; the gate keeps marketing away
    )


def chat_current(*, customer: Customer, site: ChatSite, now: datetime | None = None) -> Conversation | None:
    """The chat this customer continues on this site: open, or touched in the last day."""
    now = now or timezone.now()
    return (
        Conversation.objects.filter(customer=customer, chat_site=site, channel=Conversation.Channel.CHAT)
        .exclude(status=Conversation.Status.CLOSED)
        .filter(updated_at__gte=now - RESUME_WITHIN)
        .order_by("-updated_at", "-pk")
        .first()
    )


def _chat_open(*, customer: Customer, site: ChatSite, subject: str, now: datetime) -> Conversation:
    conversation = services.conversation_open(
        customer=customer,
        channel=Conversation.Channel.CHAT,
        subject=subject,
        team=site.team,
        via=VIA,
        now=now,
    )
    Conversation.objects.filter(pk=conversation.pk).update(chat_site=site, queued_at=now)
    conversation.chat_site, conversation.queued_at = site, now
    return conversation


def _subject(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 80 else line[:79] + "…"


@dataclass
class ChatReceipt:
    conversation: Conversation
    message: Message | None
    handed_off: bool = False
    is_new: bool = False
    notices: list[str] = field(default_factory=list)


@transaction.atomic
def chat_message_receive(*, visitor: Visitor, text: str, now: datetime | None = None) -> ChatReceipt:
    """A visitor's chat message: stored, on the timeline, and a hand-off at once if they ask for a person."""
    now = now or timezone.now()
    text = clean_text(text)
    customer = visitor_customer(visitor, now=now)
    conversation = chat_current(customer=customer, site=visitor.site, now=now)
    is_new = conversation is None
    if conversation is None:
        conversation = _chat_open(customer=customer, site=visitor.site, subject=_subject(text), now=now)
    was_open = conversation.is_open
    # S17: the hand-off is decided on the raw text before anything else looks at the message.
    request = asks_for_person(text)
    message = services.message_receive(conversation=conversation, body_text=text, now=now)
    conversation.refresh_from_db()
    receipt = ChatReceipt(conversation=conversation, message=message, is_new=is_new)
    if request is not None:
        conversation = chat_handoff(
            conversation=conversation, reason=f"asked for “{request.matched}”", now=now
        )
        receipt.conversation, receipt.handed_off = conversation, True
    elif not was_open:
        _queue_again(conversation, now=now)  # a resolved chat the customer writes in again
    return receipt


@transaction.atomic
def chat_handoff_request(*, visitor: Visitor, now: datetime | None = None) -> ChatReceipt:
    """The "Talk to a person" button: a hand-off even before the visitor has written anything."""
    now = now or timezone.now()
    customer = visitor_customer(visitor, now=now)
    conversation = chat_current(customer=customer, site=visitor.site, now=now)
    is_new = conversation is None
    if conversation is None:
        conversation = _chat_open(customer=customer, site=visitor.site, subject="Asked for a person", now=now)
    conversation = chat_handoff(conversation=conversation, reason="pressed “Talk to a person”", now=now)
    return ChatReceipt(conversation=conversation, message=None, handed_off=True, is_new=is_new)


def _queue_again(conversation: Conversation, *, now: datetime) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(queued_at=now)
    conversation.queued_at = now


@transaction.atomic
def chat_handoff(
    *, conversation: Conversation, reason: str, via: str = VIA, now: datetime | None = None
) -> Conversation:
    """Hand the chat to the human queue, now (S17).

    Nothing automated runs first or can refuse it. A customer already in line keeps their
    place (asking again must not send them to the back); one a person has already answered
    joins the line again, so the person sees the request.
    """
    now = now or timezone.now()
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    waiting = queue.is_waiting(conversation)
    conversation.wants_human = True
    conversation.handoff_count += 1
    if not waiting or conversation.queued_at is None:
        conversation.queued_at = now
    if not conversation.is_open:
        conversation.status = Conversation.Status.OPEN
        conversation.resolved_at = conversation.closed_at = None
        conversation.reopen_count += 1
    conversation.updated_at = now
    conversation.save()
    timeline_append(
        customer=conversation.customer,
        kind="conversation.handoff",
        channel=conversation.channel,
        summary=f"[#{conversation.token}] asked for a person: {reason}",
        occurred_at=now,
        subject=conversation,
        data={"reason": reason, "handoff_count": conversation.handoff_count},
    )
    hooks.conversation_event("conversation.handoff", conversation.pk)
    return conversation


@transaction.atomic
def chat_to_email(
    *,
    visitor: Visitor,
    text: str,
    email: str,
    consent: bool,
    proof: dict[str, Any],
    now: datetime | None = None,
) -> Conversation:
    """Nobody online: the chat becomes an email conversation, with the customer's recorded consent."""
    now = now or timezone.now()
    text = clean_text(text)
    if consent is not True:
        raise InvalidInput(
            "consent: tick the box to let us answer you by email (nothing is stored without it).",
            field="consent",
        )
    known = visitor_customer_find(visitor) if visitor.identity is not None else None
    address = email.strip() if isinstance(email, str) else ""
    if not address and known is not None:
        address = (
            known.identifiers.filter(kind=Identifier.Kind.EMAIL).values_list("value_raw", flat=True).first()
            or ""
        )
    if not address:
        raise InvalidInput("email: the address we should answer to is needed.", field="email")
    address = normalise.normalise_email(address, field="email")
    if visitor.identity is not None:
        customer = visitor_customer(visitor, now=now)
        # A signed-in customer (vouched for by the site) gives the address to answer to: keep it
        # on their profile so the reply can reach it, unless it is someone else's.
        owner = customer_resolve(kind=Identifier.Kind.EMAIL, value=address)
        if owner is None:
            customer_services.identifier_add(
                actor=None,
                customer=customer,
                kind=Identifier.Kind.EMAIL,
                value=address,
                source=VIA,
                via=VIA,
                now=now,
                erased_may_return=True,
            )
    else:
        customer = services.customer_for_contact(email=address, via=VIA, now=now)
    conversation = services.conversation_open(
        customer=customer,
        channel=Conversation.Channel.EMAIL,
        subject=_subject(text),
        team=visitor.site.team,
        via=VIA,
        now=now,
    )
    Conversation.objects.filter(pk=conversation.pk).update(chat_site=visitor.site)
    services.message_receive(conversation=conversation, body_text=text, sender_address=address, now=now)
    consent_grant(
        actor=None,
        customer=customer,
        purpose="service",
        channel="email",
        source="form",
        proof={
            **{k: v for k, v in proof.items() if k in {"ip", "user_agent"}},
            "form_text_version": OFFLINE_FORM_VERSION,
            "note": f"chat widget on {visitor.site.name}: ticked “{gettext(OFFLINE_CONSENT_TEXT)}” for {address}",
        },
        via=VIA,
        now=now,
    )
    return conversation


def chat_history(conversation: Conversation) -> list[dict[str, Any]]:
    """What the customer sees of the conversation: their messages and the replies, never notes."""
    rows = (
        conversation.messages.exclude(direction=Message.Direction.NOTE)
        .select_related("author")
        .order_by("-created_at", "-pk")[:HISTORY_LIMIT]
    )
    return [message_payload(m) for m in reversed(list(rows))]


def message_payload(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "direction": message.direction,
        "text": message.body_text,
        "author": (message.author.first_name or message.author.get_username()) if message.author else "",
        "automated": message.is_automated,
        "at": message.created_at.isoformat(),
    }
