"""A phone call, logged as a conversation while or after it happens (C4)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from regard.customers import normalise
from regard.customers.models import Customer
from regard.customers.services import Actor, timeline_append
from regard.errors import InvalidInput
from regard.support import hooks
from regard.support.models import Conversation, Message, Team
from regard.support.services.contacts import customer_for_contact
from regard.support.services.conversations import _locked, conversation_open
from regard.support.services.inputs import MAX_BODY, _clean_choice, _clean_text


@transaction.atomic
def call_log(
    *,
    actor: Actor,
    phone: str = "",
    customer: Customer | None = None,
    name: str = "",
    notes: str,
    outcome: str = "",
    kind: str = "question",
    status: str = "resolved",
    direction: str = "in",
    team: Team | None = None,
    via: str = "web",
    now: datetime | None = None,
) -> Conversation:
    """A phone call, logged in seconds: the caller's number finds the customer (or the agent picks
    them on their page), the notes are the agent's record, the outcome is kept on the conversation."""
    now = now or timezone.now()
    notes = _clean_text(notes, field="notes", limit=MAX_BODY, required=True).strip()
    outcome = _clean_text(outcome, field="outcome", limit=5000).strip()
    _clean_choice(direction, Message.Direction, "direction")
    if direction == Message.Direction.NOTE:
        raise InvalidInput("direction: 'in' (the customer called) or 'out' (we called).", field="direction")
    _clean_choice(status, Conversation.Status, "status")
    if customer is None:
        if not phone.strip():
            raise InvalidInput("phone: the caller's number (or a customer) is needed.", field="phone")
        customer = customer_for_contact(phone=phone, name=name, via="phone", actor=actor, now=now)
    elif phone.strip():
        normalise.normalise_phone(phone, field="phone")  # a typo is an error even when the person is known
    number = phone.strip()
    summary = "Incoming call" if direction == Message.Direction.IN else "Outgoing call"
    conversation = conversation_open(
        customer=customer,
        channel=Conversation.Channel.PHONE,
        kind=kind,
        subject=f"{summary}{f' from {number}' if number and direction == 'in' else ''}",
        team=team,
        actor=actor,
        via=via,
        now=now,
    )
    Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.NOTE,
        author=actor if isinstance(actor, User) else None,
        sender_address=number[:320],
        body_text=notes,
        created_at=now,
    )
    conversation = _locked(conversation)
    conversation.customer_message_count = 1
    conversation.last_customer_message_at = now
    conversation.first_response_at = now  # a call is answered while it happens
    conversation.last_agent_message_at = now
    conversation.outcome = outcome
    conversation.status = Conversation.Status.OPEN if status == Conversation.Status.NEW else status
    if conversation.status in (Conversation.Status.RESOLVED, Conversation.Status.CLOSED):
        conversation.resolved_at = now
        if conversation.status == Conversation.Status.CLOSED:
            conversation.closed_at = now
    if isinstance(actor, User):
        conversation.assignee = actor
    conversation.save()
    timeline_append(
        customer=conversation.customer,
        kind="conversation.call_logged",
        channel="phone",
        summary=f"{summary} logged" + (f": {outcome}" if outcome else ""),
        occurred_at=now,
        subject=conversation,
        data={"direction": direction, "status": conversation.status},
    )
    hooks.conversation_event("message.created", conversation.pk, None)
    if conversation.resolved_at is not None:
        hooks.conversation_event("conversation.resolved", conversation.pk)
    return conversation
