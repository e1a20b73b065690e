"""An agent's reply: read by the reply check, then sent through the outbox with threading headers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from regard.customers import normalise
from regard.customers.selectors import customer_current
from regard.customers.services import Actor, timeline_append
from regard.errors import Conflict, InvalidInput
from regard.outreach import mime
from regard.outreach import services as outreach_services
from regard.privacy.models import AuditEntry
from regard.support import hooks
from regard.support.models import Conversation, Message
from regard.support.services.conversations import _audit, _locked
from regard.support.services.inputs import MAX_BODY, _clean_text


class ReplyNeedsReview(Conflict):
    """The reply check found something; the draft is not sent unless the agent overrides."""


def reply_findings(*, draft: str, conversation: Conversation) -> list[dict[str, Any]]:
    """The reply check's findings for a draft (support/reply_check/), as plain dicts."""
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
