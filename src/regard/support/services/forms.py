"""The public contact form (C4): no login, attached to the sender by address."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from regard.errors import InvalidInput
from regard.support.models import Conversation
from regard.support.services.contacts import customer_for_contact
from regard.support.services.conversations import conversation_open, message_receive
from regard.support.services.inputs import MAX_SUBJECT, _clean_text


@transaction.atomic
def form_submit(
    *,
    email: str,
    name: str = "",
    subject: str = "",
    body_text: str,
    kind: str = "question",
    now: datetime | None = None,
) -> Conversation:
    """The public contact form: a conversation for the sender, attached by address."""
    now = now or timezone.now()
    name = _clean_text(name, field="name", limit=200).strip()
    subject = _clean_text(subject, field="subject", limit=MAX_SUBJECT).strip()
    body_text = _clean_text(body_text, field="message", limit=20_000, required=True).strip()
    if not email.strip():
        raise InvalidInput("email: an address to answer to is needed.", field="email")
    customer = customer_for_contact(email=email, name=name, via="form", now=now)
    conversation = conversation_open(
        customer=customer,
        channel=Conversation.Channel.FORM,
        kind=kind,
        subject=subject or body_text.splitlines()[0][:80],
        via="form",
        now=now,
    )
    message_receive(conversation=conversation, body_text=body_text, sender_address=email.strip(), now=now)
    return conversation
