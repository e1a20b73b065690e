"""Every write of the support desk: conversations, customer messages, notes, replies, calls, forms (C4).

Each function is keyword-only, runs in one transaction, writes its timeline event and
audit entry, and tells ``support.hooks`` what happened (after commit) so SLA timers,
live inboxes and webhooks follow without this module importing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone

from regard.customers import normalise
from regard.customers import services as customer_services
from regard.customers.models import Customer
from regard.customers.selectors import customer_current, customer_resolve
from regard.customers.services import Actor, IdentifierInput, timeline_append
from regard.errors import Conflict, InvalidInput
from regard.outreach import mime
from regard.outreach import services as outreach_services
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record
from regard.support import hooks
from regard.support.models import Attachment, Conversation, Message, Team

MAX_SUBJECT = 300
MAX_BODY = 200_000


@dataclass(frozen=True)
class AttachmentInput:
    filename: str
    content_type: str
    data: bytes


def _split_name(name: str) -> dict[str, str]:
    name = " ".join(name.split())[:200]
    if not name:
        return {}
    given, _, family = name.partition(" ")
    return {"given_name": given, "family_name": family} if family else {"given_name": given}


def customer_for_contact(
    *,
    email: str = "",
    phone: str = "",
    name: str = "",
    via: str,
    actor: Actor = None,
    now: datetime | None = None,
) -> Customer:
    """The person behind a sender address or phone number; an unknown sender gets a new profile.

    Attached by any known identifier (email first, then phone). Identifiers a sender merely
    claims are not added to an existing profile, so a form cannot tie a stranger's number to
    someone else's account; a new profile gets all of them, and identity resolution can merge
    it later (C1).
    """
    email, phone = email.strip(), phone.strip()
    if not email and not phone:
        raise InvalidInput("email: an email address or a phone number is needed.", field="email")
    email_n = normalise.normalise_email(email, field="email") if email else ""
    phone_n = normalise.normalise_phone(phone, field="phone") if phone else ""
    for kind, value in (("email", email_n), ("phone", phone_n)):
        if value:
            found = customer_resolve(kind=kind, value=value)
            if found is not None:
                return customer_current(found)
    identifiers = [
        IdentifierInput(kind, value) for kind, value in (("email", email_n), ("phone", phone_n)) if value
    ]
    # Art. 17: an erased person who writes again gets a new profile, so they can be answered;
    # the tombstone still keeps marketing from them (outreach.gate).
    return customer_services.customer_create(
        actor=actor,
        identifiers=identifiers,
        source=via,
        via=via,
        now=now,
        erased_may_return=True,
        **_split_name(name),
    )


def _clean_choice(value: str, choices: type[models.TextChoices], field: str) -> str:
    allowed: list[str] = list(choices.values)
    if value not in allowed:
        raise InvalidInput(f"{field}: '{value}' is not one of {', '.join(allowed)}.", field=field)
    return value


def _clean_text(value: str, *, field: str, limit: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: must be text.", field=field)
    if "\x00" in value:
        raise InvalidInput(f"{field}: must not contain NUL characters.", field=field)
    if required and not value.strip():
        raise InvalidInput(f"{field}: must not be empty.", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field}: longer than {limit} characters.", field=field)
    return value


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


class ReplyNeedsReview(Conflict):
    """The reply check found something; the draft is not sent unless the agent overrides."""


def reply_findings(*, draft: str, conversation: Conversation) -> list[dict[str, Any]]:
    """The reply check's findings for a draft (support/reply_check.py), as plain dicts."""
    from regard.support import reply_check

    findings = reply_check.check_reply(draft=draft, conversation=conversation, customer=conversation.customer)
    return [f.as_dict() for f in findings]


def support_address_for(conversation: Conversation) -> str:
    """Where the customer's answer should go: the team's address, else the first configured one."""
    if conversation.team_id and conversation.team and conversation.team.support_address:
        return conversation.team.support_address
    return next(iter(settings.REGARD_SUPPORT_ADDRESSES), "")


def reply_subject(conversation: Conversation) -> str:
    subject = conversation.subject or "Your message"
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return f"{subject} [#{conversation.token}]"


def _thread_ids(conversation: Conversation) -> tuple[str, list[str]]:
    """In-Reply-To (the customer's latest mail) and References (the chain up to it)."""
    latest = (
        conversation.messages.filter(direction=Message.Direction.IN)
        .exclude(message_id="")
        .order_by("-created_at", "-id")
        .first()
    )
    if latest is None:
        return "", []
    chain = [r for r in latest.references if r != latest.message_id]
    return latest.message_id, [*chain, latest.message_id][-20:]


def last_sender_address(conversation: Conversation) -> str:
    """The address the customer last wrote from on this conversation (normalised), if any.

    The outbox uses it only when it is one of the person's own identifiers."""
    latest = (
        conversation.messages.filter(direction=Message.Direction.IN, is_automated=False)
        .exclude(sender_address="")
        .order_by("-created_at", "-id")
        .values_list("sender_address", flat=True)
        .first()
    )
    if not latest:
        return ""
    try:
        return normalise.normalise_email(latest, field="to_address")
    except InvalidInput:
        return ""


@transaction.atomic
def reply_send(
    *,
    actor: Actor,
    conversation: Conversation,
    body_text: str,
    override: bool = False,
    via: str = "web",
    now: datetime | None = None,
) -> Message:
    """An agent's answer. The reply check reads it first; with findings it is only sent when the
    agent overrides, and the override is recorded. Email goes out through the outbox as a service
    message with threading headers (invariant 1); chat replies reach the widget live."""
    now = now or timezone.now()
    body_text = _clean_text(body_text, field="body", limit=MAX_BODY, required=True).strip()
    conversation = _locked(conversation)
    findings = reply_findings(draft=body_text, conversation=conversation)
    if findings and not override:
        raise ReplyNeedsReview(
            "body: the reply check found something to look at; send anyway to override.",
            field="body",
            findings=findings,
        )
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUT,
        author=actor if isinstance(actor, User) else None,
        body_text=body_text,
        reply_check={"findings": findings, "overridden": bool(findings)},
        created_at=now,
    )
    if conversation.channel != Conversation.Channel.CHAT:
        in_reply_to, references = _thread_ids(conversation)
        dedupe_key = f"support-reply:{message.pk}"
        row, _ = outreach_services.service_message_send(
            actor=actor,
            customer=customer_current(conversation.customer),
            # The texts travel in the context: an agent's "{{" is text, not template syntax.
            subject="{{ support_subject }}",
            body="{{ support_body }}",
            context={
                "support_subject": reply_subject(conversation),
                "support_body": body_text,
                "in_reply_to": in_reply_to,
                "references": references,
                "reply_to": support_address_for(conversation),
                "to_address": last_sender_address(conversation),
                "conversation": conversation.pk,
            },
            dedupe_key=dedupe_key,
            via=via,
            now=now,
        )
        message.outbox_message = row
        message.message_id = mime.message_id_for(dedupe_key, settings.REGARD_MAIL_DOMAIN)
        message.in_reply_to = in_reply_to
        message.references = references
        message.save(update_fields=["outbox_message", "message_id", "in_reply_to", "references"])
    previous = conversation.status
    if conversation.first_response_at is None:
        conversation.first_response_at = now
    conversation.last_agent_message_at = now
    conversation.awaiting_reply_since = None
    if previous in (Conversation.Status.NEW, Conversation.Status.OPEN):
        conversation.status = Conversation.Status.WAITING
    if conversation.assignee_id is None and isinstance(actor, User):
        conversation.assignee = actor
    conversation.updated_at = now
    conversation.save()
    timeline_append(
        customer=conversation.customer,
        kind="conversation.reply_sent",
        channel=conversation.channel,
        summary=f"Reply on [#{conversation.token}]" + (" (reply check overridden)" if findings else ""),
        occurred_at=now,
        subject=message,
        data={"conversation": conversation.pk, "overridden": [f["code"] for f in findings]},
    )
    _audit(
        actor,
        AuditEntry.Action.UPDATE,
        conversation,
        via,
        now,
        reply=message.pk,
        overridden=[f["code"] for f in findings],
    )
    hooks.conversation_event("message.created", conversation.pk, message.pk)
    if conversation.status != previous:
        hooks.conversation_event("conversation.status", conversation.pk, message.pk)
    return message


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
