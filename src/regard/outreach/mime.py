"""Build the raw bytes of one outbound email, signed (RFC 5322, RFC 8058, DKIM)."""

from __future__ import annotations

import hashlib
import quopri
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime

from regard.outreach import dkim_keys


def message_id_for(dedupe_key: str, domain: str) -> str:
    """Deterministic: the same outbox row always carries the same Message-ID (invariant 3)."""
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]}@{domain}>"


def bounce_address_for(message_id: str, domain: str) -> str:
    """VERP return path: a bounce names the message it is about."""
    return f"bounce+{message_id.strip('<>').split('@')[0]}@{domain}"


_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
_ADDRESS = re.compile(r"^[^<>\s@,;\"]{1,64}@[A-Za-z0-9.-]{1,253}$")


def threading_headers(context: Mapping[str, object]) -> list[tuple[str, str]]:
    """In-Reply-To, References and Reply-To for a reply, from its outbox row's context.

    Keys ``in_reply_to`` (one Message-ID), ``references`` (a list of them) and ``reply_to``
    (an address); anything that is not a well-formed Message-ID or address is left out, so
    a context value can never add a header line of its own.
    """
    headers: list[tuple[str, str]] = []
    in_reply_to = _MESSAGE_ID.fullmatch(str(context.get("in_reply_to") or ""))
    if in_reply_to:
        headers.append(("In-Reply-To", in_reply_to.group(0)))
    raw_references = context.get("references") or []
    if isinstance(raw_references, list | tuple):
        references = [str(r) for r in raw_references if _MESSAGE_ID.fullmatch(str(r))][-20:]
        if references:
            headers.append(("References", "\r\n ".join(references)))
    reply_to = str(context.get("reply_to") or "")
    if _ADDRESS.match(reply_to):
        headers.append(("Reply-To", reply_to))
    return headers


def _header_value(text: str) -> bytes:
    if text.isascii():
        return text.encode()
    return Header(text, "utf-8").encode().encode()


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    recipient: str
    data: bytes


def build(
    *,
    from_header: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    date: datetime,
    domain: str,
    list_unsubscribe: tuple[str, str] | None,
    key: dkim_keys.DkimKey | None,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> Envelope:
    headers: list[tuple[bytes, bytes]] = [
        (b"From", from_header.encode()),
        (b"To", to.encode()),
        (b"Subject", _header_value(subject)),
        (b"Date", format_datetime(date).encode()),
        (b"Message-ID", message_id.encode()),
        (b"MIME-Version", b"1.0"),
        (b"Content-Type", b'text/plain; charset="utf-8"'),
        (b"Content-Transfer-Encoding", b"quoted-printable"),
    ]
    if list_unsubscribe is not None:
        https_url, mailto_url = list_unsubscribe
        # RFC 8058: both headers, both covered by the DKIM signature.
        headers.append((b"List-Unsubscribe", f"<{https_url}>, <{mailto_url}>".encode()))
        headers.append((b"List-Unsubscribe-Post", b"List-Unsubscribe=One-Click"))
    headers.extend((name.encode(), value.encode()) for name, value in extra_headers)
    encoded_body = quopri.encodestring(body.replace("\r\n", "\n").encode("utf-8")).replace(b"\n", b"\r\n")
    if not encoded_body.endswith(b"\r\n"):
        encoded_body += b"\r\n"
    headers = [(name, b" " + value + b"\r\n") for name, value in headers]
    head = b"".join(name + b":" + value for name, value in headers)
    if key is not None:
        head = dkim_keys.sign(key, headers, encoded_body, now=date.timestamp()) + head
    return Envelope(
        mail_from=bounce_address_for(message_id, domain),
        recipient=to,
        data=head + b"\r\n" + encoded_body,
    )
