"""Conversations: opening one, a customer's message, notes, assignment, status (C4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from regard.customers.models import Customer
from regard.customers.selectors import customer_current
from regard.customers.services import Actor, timeline_append
from regard.errors import Conflict, InvalidInput
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record
from regard.support import hooks
from regard.support.models import Attachment, Conversation, Message, Team
from regard.support.services.inputs import MAX_BODY, MAX_SUBJECT, _clean_choice, _clean_text


@dataclass(frozen=True)
class AttachmentInput:
    filename: str
    content_type: str
    data: bytes


def _locked(conversation: Conversation) -> Conversation:
    return (
        Conversation.objects.select_related("customer", "team")
        .select_for_update(of=("self",))
        .get(pk=conversation.pk)
    )


def _audit(
    actor: Actor, action: str, conversation: Conversation, via: str, now: datetime, **detail: object
) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="conversation",
        object_id=conversation.pk,
        customer_id=conversation.customer_id,
        via=via,
        detail=dict(detail),
        now=now,
    )


@transaction.atomic
def conversation_open(
    *,
    customer: Customer,
    channel: str,
    kind: str = "question",
    priority: str = "normal",
    subject: str = "",
    team: Team | None = None,
    actor: Actor = None,
    via: str,
    now: datetime | None = None,
) -> Conversation:
    now = now or timezone.now()
    _clean_choice(channel, Conversation.Channel, "channel")
    _clean_choice(kind, Conversation.Kind, "kind")
    _clean_choice(priority, Conversation.Priority, "priority")
    subject = " ".join(_clean_text(subject, field="subject", limit=MAX_SUBJECT).split())
    customer = customer_current(customer)
    conversation = Conversation.objects.create(
        customer=customer,
        channel=channel,
        kind=kind,
        priority=priority,
        subject=subject,
        team=team,
        language=customer.language if customer.language != "en" else "",
        created_at=now,
        updated_at=now,
        resolution_started_at=now,
    )
    timeline_append(
        customer=customer,
        kind="conversation.opened",
        channel=channel,
        summary=f"{channel.capitalize()} conversation opened: {subject or kind}",
        occurred_at=now,
        subject=conversation,
        data={"kind": kind, "priority": priority, "token": conversation.token},
    )
    _audit(actor, AuditEntry.Action.CREATE, conversation, via, now, channel=channel)
    hooks.conversation_event("conversation.created", conversation.pk)
    return conversation


@transaction.atomic
def message_receive(
    *,
    conversation: Conversation,
    body_text: str,
    body_html: str = "",
    raw: str = "",
    parse_error: str = "",
    message_id: str = "",
    in_reply_to: str = "",
    references: Sequence[str] = (),
    auth_results: dict[str, Any] | None = None,
    attachments: Sequence[AttachmentInput] = (),
    sender_address: str = "",
    is_automated: bool = False,
    conversation_locked: bool = False,
    now: datetime | None = None,
) -> Message:
    """A customer's message: it reopens a resolved or closed conversation and waits for an answer.

    ``conversation_locked``: the caller already holds the row (it opened the conversation in the
    same transaction), so it is not read again."""
    now = now or timezone.now()
    if not conversation_locked:
        conversation = _locked(conversation)
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.IN,
        sender_address=sender_address[:320],
        body_text=body_text,
        body_html=body_html,
        raw=raw,
        parse_error=parse_error[:500],
        message_id=message_id[:300],
        in_reply_to=in_reply_to[:300],
        references=[r[:300] for r in references][:100],
        auth_results=dict(auth_results or {}),
        is_automated=is_automated,
        created_at=now,
    )
    Attachment.objects.bulk_create(
        Attachment(
            message=message,
            filename=(a.filename or "attachment")[:255],
            content_type=(a.content_type or "application/octet-stream")[:127],
            size=len(a.data),
            data=a.data,
        )
        for a in attachments
    )
    # An auto-reply (out of office, "we received your mail") is kept and shown, but it is nobody
    # writing: it neither reopens a finished conversation nor starts a wait for an answer.
    reopened = not conversation.is_open and not is_automated
    status_changed = not is_automated and (
        conversation.status != Conversation.Status.OPEN and conversation.status != Conversation.Status.NEW
    )
    if reopened:
        conversation.reopen_count += 1
        conversation.resolved_at = None
        conversation.closed_at = None
        conversation.resolution_started_at = now  # the resolution target counts again from here
    if status_changed:
        conversation.status = Conversation.Status.OPEN
    if not is_automated:
        conversation.customer_message_count += 1
        conversation.last_customer_message_at = now
        if conversation.awaiting_reply_since is None:
            conversation.awaiting_reply_since = now
    conversation.updated_at = now
    conversation.save(
        update_fields=[
            "reopen_count",
            "resolved_at",
            "closed_at",
            "resolution_started_at",
            "status",
            "customer_message_count",
            "last_customer_message_at",
            "awaiting_reply_since",
            "updated_at",
        ]
    )
    timeline_append(
        customer=conversation.customer,
        kind="conversation.message_received",
        channel=conversation.channel,
        summary=(
            f"Message received on [#{conversation.token}]"
            + (" (could not be read; kept as received)" if parse_error else "")
            + (" (automatic reply)" if is_automated else "")
            + (" — reopened" if reopened else "")
        ),
        occurred_at=now,
        subject=message,
        data={"conversation": conversation.pk},
    )
    hooks.conversation_event("message.created", conversation.pk, message.pk)
    if status_changed:
        hooks.conversation_event("conversation.status", conversation.pk, message.pk)
    return message


@transaction.atomic
def note_add(
    *, actor: Actor, conversation: Conversation, body_text: str, via: str = "web", now: datetime | None = None
) -> Message:
    """An internal note: seen by agents only, never sent."""
    now = now or timezone.now()
    body_text = _clean_text(body_text, field="body", limit=MAX_BODY, required=True).strip()
    conversation = _locked(conversation)
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.NOTE,
        author=actor if isinstance(actor, User) else None,
        body_text=body_text,
        created_at=now,
    )
    conversation.updated_at = now
    conversation.save(update_fields=["updated_at"])
    _audit(actor, AuditEntry.Action.UPDATE, conversation, via, now, note=message.pk)
    hooks.conversation_event("message.created", conversation.pk, message.pk)
    return message


@transaction.atomic
def conversation_assign(
    *,
    actor: Actor,
    conversation: Conversation,
    assignee: User | None,
    team: Team | None = None,
    via: str = "web",
    now: datetime | None = None,
) -> Conversation:
    """Give the conversation to a person (None: nobody) and, if given, a team."""
    now = now or timezone.now()
    if assignee is not None and not assignee.is_active:
        raise InvalidInput(f"assignee: user '{assignee.get_username()}' is not active.", field="assignee")
    conversation = _locked(conversation)
    conversation.assignee = assignee
    if team is not None:
        conversation.team = team
    conversation.updated_at = now
    conversation.save(update_fields=["assignee", "team", "updated_at"])
    who = assignee.get_username() if assignee else "nobody"
    timeline_append(
        customer=conversation.customer,
        kind="conversation.assigned",
        channel=conversation.channel,
        summary=f"[#{conversation.token}] assigned to {who}",
        occurred_at=now,
        subject=conversation,
    )
    _audit(actor, AuditEntry.Action.UPDATE, conversation, via, now, assignee=who)
    hooks.conversation_event("conversation.assigned", conversation.pk)
    return conversation


@transaction.atomic
def conversation_set_status(
    *,
    actor: Actor,
    conversation: Conversation,
    status: str,
    outcome: str | None = None,
    via: str = "web",
    now: datetime | None = None,
) -> Conversation:
    now = now or timezone.now()
    _clean_choice(status, Conversation.Status, "status")
    if outcome is not None:
        outcome = _clean_text(outcome, field="outcome", limit=5000).strip()
    conversation = _locked(conversation)
    previous = conversation.status
    if previous == status and outcome is None:
        return conversation
    if status == Conversation.Status.NEW and previous != Conversation.Status.NEW:
        raise Conflict("status: a conversation cannot go back to new.", field="status")
    newly_resolved = conversation.resolved_at is None and status in (
        Conversation.Status.RESOLVED,
        Conversation.Status.CLOSED,
    )
    if previous in (Conversation.Status.RESOLVED, Conversation.Status.CLOSED) and status in (
        Conversation.Status.OPEN,
        Conversation.Status.WAITING,
        Conversation.Status.NEW,
    ):
        conversation.reopen_count += 1
        conversation.resolved_at = None
        conversation.closed_at = None
        conversation.resolution_started_at = now
    conversation.status = status
    if status == Conversation.Status.RESOLVED and conversation.resolved_at is None:
        conversation.resolved_at = now
    if status == Conversation.Status.CLOSED:
        conversation.resolved_at = conversation.resolved_at or now
        conversation.closed_at = now
    if outcome is not None:
        conversation.outcome = outcome
    conversation.updated_at = now
    conversation.save()
    if previous != status:
        timeline_append(
            customer=conversation.customer,
            kind="conversation.status",
            channel=conversation.channel,
            summary=f"[#{conversation.token}] {previous} → {status}",
            occurred_at=now,
            subject=conversation,
            data={"from": previous, "to": status},
        )
        _audit(actor, AuditEntry.Action.UPDATE, conversation, via, now, status=[previous, status])
        hooks.conversation_event("conversation.status", conversation.pk)
        if newly_resolved:
            hooks.conversation_event("conversation.resolved", conversation.pk)
    return conversation
