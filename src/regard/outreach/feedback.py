"""What comes back: bounces (DSN), spam complaints (ARF) and unsubscribe mail (C2, S19).

`regard smtpd` hands every accepted mail to ``feedback_receive``; this module decides
what it is and applies it through the consent services, one transaction per mail:

- a delivery status notification at the VERP return path (``bounce+<tag>@domain``,
  see ``mime.bounce_address_for``) with a permanent failure for the address we sent
  to suppresses that address (hard_bounce) and withdraws its email consent;
- an ARF feedback report (RFC 5965) about one of our messages suppresses the address
  (complaint) and withdraws all marketing consent on every channel;
- mail to the List-Unsubscribe mailto address withdraws the consent its token names.

Only a message we sent can be bounced or complained about: a report must name one of
our outbox messages (by its VERP tag or its Message-ID), so forged reports cannot
suppress arbitrary addresses. Mail that is not a message at all is refused (the
listener answers 5xx, nothing is written); well-formed mail we cannot act on is kept
as an ``InboundFeedback`` row with its reason, never dropped unseen.

No actor: nobody signed in sends a bounce. The consent and suppression changes go through the
consent services (``consent_unsubscribe``, ``consent_withdraw_all``, ``suppression_add``) with
``actor=None`` and ``via="system"``, so they are audited like any other; the ``InboundFeedback``
row is the record of the mail itself.
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import functools
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from flufl.bounce import all_failures

from regard.consent import services as consent_services
from regard.consent.models import ConsentEvent
from regard.consent.tokens import link_read
from regard.customers.models import Customer
from regard.customers.selectors import customer_current, customer_for_link
from regard.customers.services import timeline_append
from regard.errors import InvalidInput
from regard.outreach.models import InboundFeedback, OutboxMessage

log = logging.getLogger(__name__)

# Bounces and complaints carry at most the original message; anything larger is not feedback.
MAX_MESSAGE_BYTES = 2_000_000
UNSUBSCRIBE_LOCAL_PART = "unsubscribe"
# Where feedback loops deliver ARF reports; reports arriving at the VERP address are read too.
COMPLAINT_LOCAL_PARTS = frozenset({"fbl", "abuse", "postmaster"})
_VERP = re.compile(r"^bounce\+([0-9a-f]{40})$")
_TOKEN = re.compile(r"unsubscribe\s+(\S+)", re.IGNORECASE)
_STRUCTURAL_DEFECTS = (
    email.errors.MissingHeaderBodySeparatorDefect,
    email.errors.NoBoundaryInMultipartDefect,
    email.errors.StartBoundaryNotFoundDefect,
    email.errors.CloseBoundaryNotFoundDefect,
)
Kind = InboundFeedback.Kind
Status = InboundFeedback.Status


class MalformedMail(InvalidInput):
    """Not an RFC 5322 message we can read at all: refused at SMTP, nothing written."""


@dataclass(frozen=True)
class Destination:
    kind: str  # "verp", "unsubscribe" or "complaint"
    verp_tag: str = ""


def destination_for(address: str) -> Destination | None:
    """Which of our feedback addresses this is, or None (the listener refuses the recipient)."""
    local, _, domain = address.strip("<>").rpartition("@")
    if not local or domain.lower() != settings.REGARD_MAIL_DOMAIN.lower():
        return None
    local = local.lower()
    if match := _VERP.match(local):
        return Destination("verp", match.group(1))
    if local == UNSUBSCRIBE_LOCAL_PART:
        return Destination("unsubscribe")
    if local in COMPLAINT_LOCAL_PARTS:
        return Destination("complaint")
    return None


def _message_id_for_tag(tag: str) -> str:
    return f"<{tag}@{settings.REGARD_MAIL_DOMAIN}>"


def parse(data: bytes) -> Message:
    if len(data) > MAX_MESSAGE_BYTES:
        raise MalformedMail(f"message: larger than {MAX_MESSAGE_BYTES} bytes.", field="message")
    if b"\x00" in data:
        raise MalformedMail("message: contains NUL bytes.", field="message")
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    if not message.keys():
        raise MalformedMail("message: no header fields.", field="message")
    for part in message.walk():
        if any(isinstance(defect, _STRUCTURAL_DEFECTS) for defect in part.defects):
            raise MalformedMail("message: broken MIME structure.", field="message")
    return message


def is_feedback_report(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type") or "").lower() == "feedback-report"
    )


def _report_fields(message: Message) -> Message | None:
    """The machine-readable part of an ARF report (message/feedback-report)."""
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            if isinstance(payload, str):
                return email.message_from_string(payload.strip() + "\n\n")
    return None


def _original_message_id(message: Message) -> str:
    """Message-ID of the reported message (message/rfc822 or text/rfc822-headers part)."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return str(payload[0].get("Message-ID", "")).strip()
        elif content_type == "text/rfc822-headers":
            headers = email.message_from_string(str(part.get_payload(decode=False)).strip() + "\n\n")
            return str(headers.get("Message-ID", "")).strip()
    return ""


def _outbox_by_message_id(message_id: str) -> OutboxMessage | None:
    if not message_id:
        return None
    return OutboxMessage.objects.select_related("customer").filter(message_id=message_id).first()


@dataclass(frozen=True)
class Incoming:
    mail_from: str
    rcpt_to: str
    data: bytes
    message: Message
    now: datetime

    def keep(
        self,
        *,
        kind: str,
        status: str,
        detail: str,
        row: OutboxMessage | None = None,
        customer: Customer | None = None,
    ) -> InboundFeedback:
        if status in {Status.UNMATCHED, Status.UNPARSEABLE}:
            log.warning("inbound %s to %s kept as %s: %s", kind, self.rcpt_to, status, detail)
        return InboundFeedback.objects.create(
            kind=kind,
            status=status,
            detail=detail[:500],
            mail_from=self.mail_from[:320],
            rcpt_to=self.rcpt_to[:320],
            outbox_message=row,
            customer=customer,
            raw=self.data.decode("utf-8", "replace"),
            received_at=self.now,
        )


def _bounce_apply(incoming: Incoming, *, tag: str) -> InboundFeedback:
    message, now = incoming.message, incoming.now
    keep = functools.partial(incoming.keep, kind=Kind.BOUNCE)
    row = _outbox_by_message_id(_message_id_for_tag(tag))
    if row is None:
        return keep(status=Status.UNMATCHED, detail=f"no outbox message for return path tag {tag}")
    customer = customer_current(row.customer)  # a merged-away profile: the survivor
    temporary, permanent = all_failures(message)
    # flufl.bounce answers with bytes.
    permanent_addresses = {a.decode("utf-8", "replace").lower() for a in permanent}
    temporary_addresses = {a.decode("utf-8", "replace").lower() for a in temporary}
    address = row.to_address.lower()
    if address and address in permanent_addresses:
        consent_services.suppression_add(
            actor=None,
            kind="email",
            normalised_value=address,
            reason="hard_bounce",
            detail={"message_id": row.message_id},
            now=now,
        )
        consent_services.consent_withdraw_all(
            actor=None,
            customer=customer,
            source=ConsentEvent.Source.BOUNCE,
            proof={"message_id": row.message_id, "note": "hard bounce (delivery status notification)"},
            channels=["email"],
            via="system",
            now=now,
        )
        timeline_append(
            customer=customer,
            kind="message.bounced",
            channel="email",
            summary="Message bounced: the address does not accept mail",
            occurred_at=now,
            subject=row,
            data={"message_id": row.message_id},
        )
        return keep(status=Status.APPLIED, detail="hard bounce", row=row, customer=customer)
    if address and address in temporary_addresses:
        return keep(status=Status.IGNORED, detail="temporary failure", row=row, customer=customer)
    return keep(
        status=Status.UNPARSEABLE,
        detail="no permanent failure for the address this message went to",
        row=row,
        customer=customer,
    )


def _complaint_apply(incoming: Incoming, *, tag: str) -> InboundFeedback:
    message, now = incoming.message, incoming.now
    keep = functools.partial(incoming.keep, kind=Kind.COMPLAINT)
    fields = _report_fields(message)
    if fields is None:
        return keep(status=Status.UNPARSEABLE, detail="no message/feedback-report part")
    feedback_type = str(fields.get("Feedback-Type", "")).strip().lower() or "abuse"
    row = _outbox_by_message_id(_original_message_id(message))
    if row is None:
        # The return path of the reported message names it too (VERP).
        original_from = str(fields.get("Original-Mail-From", "")).strip()
        target = destination_for(original_from) if original_from else None
        tag = target.verp_tag if target is not None and target.verp_tag else tag
        row = _outbox_by_message_id(_message_id_for_tag(tag)) if tag else None
    if row is None:
        return keep(status=Status.UNMATCHED, detail="the report names none of our messages")
    customer = customer_current(row.customer)  # a merged-away profile: the survivor
    if feedback_type not in {"abuse", "fraud", "virus"}:
        return keep(
            status=Status.IGNORED,
            detail=f"feedback type {feedback_type} is not a complaint",
            row=row,
            customer=customer,
        )
    if row.to_address:
        consent_services.suppression_add(
            actor=None,
            kind="email",
            normalised_value=row.to_address.lower(),
            reason="complaint",
            detail={"message_id": row.message_id, "feedback_type": feedback_type},
            now=now,
        )
    consent_services.consent_withdraw_all(
        actor=None,
        customer=customer,
        source=ConsentEvent.Source.COMPLAINT,
        proof={"message_id": row.message_id, "report": f"ARF {feedback_type}"},
        via="system",
        now=now,
    )
    timeline_append(
        customer=customer,
        kind="message.complaint",
        channel="email",
        summary="Reported a message as spam: all marketing stopped",
        occurred_at=now,
        subject=row,
        data={"message_id": row.message_id, "feedback_type": feedback_type},
    )
    return keep(status=Status.APPLIED, detail=f"complaint ({feedback_type})", row=row, customer=customer)


def _unsubscribe_apply(incoming: Incoming) -> InboundFeedback:
    message, now = incoming.message, incoming.now
    keep = functools.partial(incoming.keep, kind=Kind.UNSUBSCRIBE)
    match = _TOKEN.search(str(message.get("Subject", "")))
    if match is None:
        return keep(status=Status.UNPARSEABLE, detail="no 'unsubscribe <token>' in the subject")
    try:
        claim = link_read(match.group(1))
    except InvalidInput:
        return keep(status=Status.UNPARSEABLE, detail="the unsubscribe token is not valid")
    customer = customer_for_link(claim.customer_id)
    if customer is None:
        return keep(status=Status.UNMATCHED, detail="the token names nobody we know")
    row = _outbox_by_message_id(claim.message_id)
    withdrawn = consent_services.consent_unsubscribe(
        actor=None,
        customer=customer,
        purpose=claim.purpose,
        channel=claim.channel,
        source=ConsentEvent.Source.UNSUBSCRIBE_LINK,
        proof={"message_id": claim.message_id, "note": "List-Unsubscribe mailto"},
        via="system",
        now=now,
    )
    if withdrawn is None:
        return keep(status=Status.IGNORED, detail="already unsubscribed", row=row, customer=customer)
    return keep(
        status=Status.APPLIED,
        detail=f"unsubscribed from {claim.purpose} by {claim.channel}",
        row=row,
        customer=customer,
    )


@transaction.atomic
def feedback_receive(
    *, mail_from: str, rcpt_to: str, data: bytes, now: datetime | None = None
) -> InboundFeedback:
    """Read one mail that arrived at a feedback address and act on it; raises MalformedMail."""
    now = now or timezone.now()
    message = parse(data)
    destination = destination_for(rcpt_to)
    if destination is None:
        raise InvalidInput(f"recipient: {rcpt_to} is not a feedback address.", field="recipient")
    incoming = Incoming(mail_from=mail_from, rcpt_to=rcpt_to, data=data, message=message, now=now)
    if is_feedback_report(message) or destination.kind == "complaint":
        return _complaint_apply(incoming, tag=destination.verp_tag)
    if destination.kind == "unsubscribe":
        return _unsubscribe_apply(incoming)
    return _bounce_apply(incoming, tag=destination.verp_tag)
