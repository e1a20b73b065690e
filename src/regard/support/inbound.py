"""Support mail in: what `regard smtpd` accepts for a support address becomes a customer message (C4).

Parsing uses the standard library (``email``, ``policy=default``): the plain-text and HTML
bodies in their declared charsets, attachments, Message-ID, In-Reply-To and References.

Threading, first match wins:
1. In-Reply-To / References name a message of a conversation (a customer's earlier mail,
   or a reply we sent: our Message-IDs are stored on the reply);
2. the subject carries a conversation token "[#token]" (our replies put it there);
3. otherwise a new conversation for the sender, attached to the customer by address.

Authentication, recorded on the message as ``auth_results``:
- ``dkim``: verified here with dkimpy against the signer's DNS key (pass, fail, none when
  unsigned, temperror when DNS cannot be asked);
- ``spf`` and ``dmarc``: Regard does not check them itself (it does not see the connecting
  relay's address in a trustworthy way); it copies the verdicts from an
  ``Authentication-Results`` header if one is present and says "none" otherwise. Such a
  header is only as trustworthy as the relay in front of Regard, which must strip any the
  sender wrote; the header's ``authserv-id`` is kept so an agent can see who claimed it.
No verdict blocks a message: they are shown to the agent.

Nothing is dropped: mail that cannot be parsed is kept raw with ``parse_error`` and shown
to an agent like any other message. Only oversized mail is refused, at SMTP (552).
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any

import dkim
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from dkim.dnsplug import get_txt

from regard.customers import services as customer_services
from regard.customers.models import Customer
from regard.customers.selectors import customer_current
from regard.errors import InvalidInput
from regard.support import services
from regard.support.models import Conversation, Message, Team

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 10_000_000
# A DKIM key lookup that does not answer quickly is a temporary error, not a stalled listener.
DNS_TIMEOUT_SECONDS = 2
UNKNOWN_SENDER_SOURCE = "email-unknown-sender"
TOKEN_IN_SUBJECT = re.compile(r"\[#([0-9a-z]{6,32})\]", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_STRUCTURAL_DEFECTS = (
    email.errors.MissingHeaderBodySeparatorDefect,
    email.errors.NoBoundaryInMultipartDefect,
    email.errors.StartBoundaryNotFoundDefect,
    email.errors.CloseBoundaryNotFoundDefect,
    email.errors.MultipartInvariantViolationDefect,
)
DnsFunc = Callable[..., Any]


def support_addresses() -> set[str]:
    """Every address the desk takes mail for: the setting plus each team's support address."""
    configured = {a.strip().lower() for a in settings.REGARD_SUPPORT_ADDRESSES if a.strip()}
    teams = Team.objects.exclude(support_address="").values_list("support_address", flat=True)
    return configured | {a.lower() for a in teams}


def is_support_address(address: str) -> bool:
    return address.strip().strip("<>").lower() in support_addresses()


def team_for(rcpt_tos: list[str]) -> Team | None:
    wanted = [a.strip().strip("<>").lower() for a in rcpt_tos]
    for team in Team.objects.exclude(support_address=""):
        if team.support_address.lower() in wanted:
            return team
    return None


@dataclass
class ParsedMail:
    from_address: str = ""
    from_name: str = ""
    raw_from: str = ""  # the sender as written, even when no address can be read from it
    subject: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    body_text: str = ""
    body_html: str = ""
    attachments: list[services.AttachmentInput] = field(default_factory=list)
    is_automated: bool = False
    parse_error: str = ""


class _TextFromHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr", "h1", "h2", "h3"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text_from_html(markup: str) -> str:
    parser = _TextFromHtml()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line).strip()


def _ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value or "")


def _decoded_text(part: EmailMessage) -> str:
    """A text part in its declared charset; an unknown or wrong charset falls back without loss of the raw mail."""
    try:
        content = part.get_content()
        return content if isinstance(content, str) else content.decode("utf-8", "replace")
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        return data.decode("utf-8", "replace")


def _header(message: EmailMessage, name: str) -> str:
    try:
        return " ".join(str(message.get(name, "") or "").split())
    except (email.errors.HeaderParseError, ValueError, IndexError):
        raw = message.get_all(name) or []
        return " ".join(str(v) for v in raw)


_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?re(ply|sponse)|auto:|abwesenheitsnotiz"
    r"|automatische antwort|r[ée]ponse automatique|absence du bureau)",
    re.IGNORECASE,
)


def is_automatic_reply(message: EmailMessage, subject: str) -> bool:
    """Mail no person wrote (RFC 3834 Auto-Submitted, the common X-Autoreply/X-Autorespond and
    Precedence conventions, and out-of-office subjects)."""
    auto = _header(message, "Auto-Submitted").lower()
    precedence = _header(message, "Precedence").lower()
    if auto not in ("", "no") or precedence in ("bulk", "junk", "auto_reply", "list"):
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return True
    return bool(_AUTO_SUBJECT.match(subject))


def parse_mail(data: bytes) -> ParsedMail:
    """Everything a support message needs; on failure, what could be read plus ``parse_error``."""
    parsed = ParsedMail()
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if not message.keys():
            parsed.parse_error = "no header fields: not an email message"
            return parsed
        defects = [
            type(d).__name__
            for part in message.walk()
            for d in part.defects
            if isinstance(d, _STRUCTURAL_DEFECTS)
        ]
        parsed.subject = _header(message, "Subject")[:300]
        parsed.message_id = next(iter(_ids(_header(message, "Message-ID"))), "")
        parsed.in_reply_to = next(iter(_ids(_header(message, "In-Reply-To"))), "")
        parsed.references = _ids(_header(message, "References"))
        parsed.raw_from = (_header(message, "Reply-To") or _header(message, "From"))[:320]
        try:
            addresses = getaddresses([parsed.raw_from])
        except (ValueError, IndexError):
            addresses = []
        if addresses and "@" in addresses[0][1]:
            parsed.from_name, parsed.from_address = addresses[0][0], addresses[0][1]
        parsed.is_automated = is_automatic_reply(message, parsed.subject)
        if defects:
            parsed.parse_error = "broken MIME structure: " + ", ".join(sorted(set(defects)))
            return parsed
        plain = message.get_body(preferencelist=("plain",))
        rich = message.get_body(preferencelist=("html",))
        if isinstance(plain, EmailMessage):
            parsed.body_text = _decoded_text(plain).strip()
        if isinstance(rich, EmailMessage):
            parsed.body_html = _decoded_text(rich)
            if not parsed.body_text:
                parsed.body_text = text_from_html(parsed.body_html)
        bodies = {id(plain), id(rich)}
        for part in message.walk():
            if part.is_multipart() or id(part) in bodies:
                continue
            disposition = part.get_content_disposition()
            if (
                part.get_content_maintype() == "text"
                and disposition != "attachment"
                and not part.get_filename()
            ):
                continue  # another rendering of the body
            payload = part.get_payload(decode=True)
            parsed.attachments.append(
                services.AttachmentInput(
                    filename=part.get_filename() or "attachment",
                    content_type=part.get_content_type(),
                    data=payload if isinstance(payload, bytes) else b"",
                )
            )
    except Exception as error:  # anything unreadable is kept raw, never dropped
        parsed.parse_error = f"{type(error).__name__}: {error}"[:500]
    return parsed


_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)


def authentication_results(data: bytes, *, dnsfunc: DnsFunc | None = None) -> dict[str, Any]:
    """SPF/DKIM/DMARC verdicts: DKIM verified here, SPF and DMARC as reported (or "none")."""
    results: dict[str, Any] = {"spf": "none", "dkim": "none", "dmarc": "none", "checked_here": ["dkim"]}
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
        reported_headers = message.get_all("Authentication-Results") or []
    except Exception:
        reported_headers = []
    if reported_headers:
        first = " ".join(str(reported_headers[0]).split())
        reported = {name.lower(): verdict.lower() for name, verdict in _RESULT.findall(first)}
        results["reported"] = {"authserv_id": first.split(";", 1)[0].strip()[:200], **reported}
        results["spf"] = reported.get("spf", "none")
        results["dmarc"] = reported.get("dmarc", "none")
    if b"\ndkim-signature:" in b"\n" + data[:200_000].lower().replace(b"\r\n", b"\n"):
        lookup_failures: list[Exception] = []
        resolve = dnsfunc or get_txt

        def lookup(name: bytes, timeout: int = DNS_TIMEOUT_SECONDS) -> Any:
            try:
                return resolve(name, timeout=timeout)
            except Exception as error:
                lookup_failures.append(error)
                raise

        try:
            verified = dkim.verify(data, dnsfunc=lookup, timeout=DNS_TIMEOUT_SECONDS)
            results["dkim"] = "pass" if verified else ("temperror" if lookup_failures else "fail")
        except Exception as error:
            results["dkim"] = "temperror" if lookup_failures else "permerror"
            results["dkim_error"] = f"{type(error).__name__}: {error}"[:200]
        match = re.search(rb"(?im)^dkim-signature:.*?\bd=([a-z0-9.-]+)", data[:200_000])
        if match:
            results["dkim_domain"] = match.group(1).decode("ascii", "replace").lower()
    return results


def _thread(parsed: ParsedMail) -> Conversation | None:
    """The conversation this mail continues. Never an erased person's (Art. 17): a reply to an
    old thread starts a new conversation on a new profile instead of refilling the redacted one."""
    ids = [i for i in [parsed.in_reply_to, *reversed(parsed.references)] if i]
    if ids:
        earlier = (
            Message.objects.filter(message_id__in=ids, conversation__customer__erased_at__isnull=True)
            .exclude(message_id="")
            .select_related("conversation")
            .order_by("-created_at")
            .first()
        )
        if earlier is not None:
            return earlier.conversation
    match = TOKEN_IN_SUBJECT.search(parsed.subject)
    if match:
        return Conversation.objects.filter(
            token=match.group(1).lower(), customer__erased_at__isnull=True
        ).first()
    return None


def _sender(parsed: ParsedMail, mail_from: str, now: datetime) -> tuple[Customer, str]:
    for address in (parsed.from_address, mail_from.strip("<>")):
        if not address:
            continue
        try:
            customer = services.customer_for_contact(
                email=address, name=parsed.from_name, via="email", now=now
            )
        except InvalidInput:
            continue
        return customer, address
    written = " ".join((parsed.raw_from or mail_from).split())[:320]
    return _unknown_sender(written, now), written


def _unknown_sender(written: str, now: datetime) -> Customer:
    """No readable address: the message is still kept, on one "Unknown sender" profile per sender
    as written (so the same unreadable From does not make a new profile with every mail, and
    an agent sees it as it came; identity resolution or an agent can merge the profile later)."""
    earlier = (
        Message.objects.filter(
            direction=Message.Direction.IN,
            sender_address=written,
            conversation__channel=Conversation.Channel.EMAIL,
            conversation__customer__source=UNKNOWN_SENDER_SOURCE,
        )
        .values_list("conversation__customer", flat=True)
        .first()
    )
    if earlier is not None:
        return customer_current(Customer.objects.get(pk=earlier))
    return customer_services.customer_create(
        actor=None,
        source=UNKNOWN_SENDER_SOURCE,
        via="email",
        now=now,
        preferred_name="Unknown sender",
    )


def _same_mail_stored(parsed: ParsedMail, sender_address: str) -> Message | None:
    """The stored copy of this very mail, if a relay retried it after losing our answer.

    A Message-ID alone does not say so: senders reuse them, by bug or by malice, and a
    distinct mail answered 250 must be kept (nothing accepted is lost). A retry carries the
    same Message-ID, sender, subject and body.
    """
    candidates = Message.objects.filter(
        message_id=parsed.message_id, direction=Message.Direction.IN, sender_address=sender_address
    ).select_related("conversation")
    body = parsed.body_text.replace("\x00", "\ufffd")
    for candidate in candidates[:20]:
        if candidate.body_text.strip() == body.strip() and _same_subject(candidate.raw, parsed.subject):
            return candidate
    return None


def _same_subject(raw: str, subject: str) -> bool:
    return parse_mail(raw.encode("utf-8", "replace")).subject == subject


def support_receive(
    *,
    mail_from: str,
    rcpt_tos: list[str],
    data: bytes,
    now: datetime | None = None,
    dnsfunc: DnsFunc | None = None,
) -> Message:
    """Store one support mail as a customer message, threaded; never loses it."""
    now = now or timezone.now()
    parsed = parse_mail(data)
    auth = authentication_results(data, dnsfunc=dnsfunc)
    raw = data.decode("utf-8", "replace").replace("\x00", "\ufffd")
    with transaction.atomic():
        sender_address = parsed.from_address or mail_from.strip("<>")
        if parsed.message_id:
            again = _same_mail_stored(parsed, sender_address)
            if again is not None:
                return again  # the same mail delivered twice (a retry after a lost answer)
        conversation = _thread(parsed)
        opened_here = conversation is None
        if conversation is None:
            customer, sender_address = _sender(parsed, mail_from, now)
            subject = TOKEN_IN_SUBJECT.sub("", parsed.subject).strip() or "(no subject)"
            conversation = services.conversation_open(
                customer=customer,
                channel=Conversation.Channel.EMAIL,
                subject=subject[:300],
                team=team_for(rcpt_tos),
                via="email",
                now=now,
            )
        message = services.message_receive(
            conversation=conversation,
            body_text=parsed.body_text.replace("\x00", "\ufffd"),
            body_html=parsed.body_html.replace("\x00", "\ufffd"),
            raw=raw,
            parse_error=parsed.parse_error,
            message_id=parsed.message_id,
            in_reply_to=parsed.in_reply_to,
            references=parsed.references,
            auth_results=auth,
            attachments=parsed.attachments,
            sender_address=sender_address,
            is_automated=parsed.is_automated,
            conversation_locked=opened_here,
            now=now,
        )
    if parsed.parse_error:
        log.warning(
            "support mail from %s kept raw on conversation %s: %s",
            mail_from,
            conversation.pk,
            parsed.parse_error,
        )
    return message


def receive_from_listener(mail_from: str, rcpt_tos: list[str], data: bytes) -> None:
    support_receive(mail_from=mail_from, rcpt_tos=rcpt_tos, data=data)
