"""The only module that talks to a mail server (invariant 1).

Only the outbox dispatcher uses it, and only with a ``Clearance`` it made from an
ALLOW decision of the gate; tests/outreach/test_invariants.py scans the source tree
to keep every other module away from smtplib, aiosmtplib and Django's mail API.
"""

from __future__ import annotations

import enum
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.mail.backends.base import BaseEmailBackend

from regard.outreach.gate import Decision, Outcome, made_by_gate
from regard.outreach.mime import Envelope

_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")


class RefusingEmailBackend(BaseEmailBackend):
    """Django's mail API is switched off: every message goes through the outbox and the gate."""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise RuntimeError("Regard sends mail only through the outbox dispatcher (invariant 1).")


@dataclass(frozen=True)
class Clearance:
    """Proof, handed from the dispatcher to the sender, that the gate allowed this message now."""

    outbox_id: int
    decision: Decision

    def __post_init__(self) -> None:
        # Invariant 1: only a decision the gate itself made clears a message, not one built by hand.
        if not made_by_gate(self.decision):
            raise PermissionError(f"outbox message {self.outbox_id}: the decision was not made by the gate")
        if self.decision.outcome is not Outcome.ALLOW:
            raise PermissionError(f"outbox message {self.outbox_id} was not allowed by the gate")


class Result(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # 4xx, or failed before the relay could have accepted it
    FAILED = "failed"  # 5xx
    UNCERTAIN = "uncertain"  # lost after the message data went out


@dataclass(frozen=True)
class Outcome_:
    result: Result
    code: int | None = None
    detail: str = ""
    # 5xx at RCPT: the address itself is refused (a hard bounce).
    is_recipient_refused: bool = False


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    use_tls: bool  # smtps: TLS from the first byte
    starttls: bool
    username: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> Relay:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError(
                f"REGARD_SMTP_RELAY must look like smtp://host:port or smtps://host:port, not {url!r}"
            )
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            use_tls=parts.scheme == "smtps",
            starttls=query.get("starttls", ["0"])[0] in {"1", "true", "yes"},
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )


class SmtpSender:
    """One persistent SMTP connection to the relay; reconnects when it has to."""

    def __init__(self, relay: Relay, *, timeout: float = 30.0) -> None:
        self.relay = relay
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        relay = self.relay
        connection: smtplib.SMTP
        if relay.use_tls:
            connection = smtplib.SMTP_SSL(
                relay.host, relay.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(relay.host, relay.port, timeout=self.timeout)
        connection.ehlo()
        if relay.starttls:
            connection.starttls(context=ssl.create_default_context())
            connection.ehlo()
        if relay.username:
            connection.login(relay.username, relay.password)
        return connection

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def send(self, envelope: Envelope, *, clearance: Clearance) -> Outcome_:
        if clearance.decision.outcome is not Outcome.ALLOW:  # belt and braces; Clearance refuses too
            raise PermissionError("the gate did not allow this message")
        try:
            if self._connection is None:
                self._connection = self._connect()
            connection = self._connection
            if (
                connection.has_extn("pipelining")
                and _plain(envelope.mail_from)
                and _plain(envelope.recipient)
            ):
                refused = self._envelope_pipelined(connection, envelope)
            else:
                refused = self._envelope_one_by_one(connection, envelope)
            if refused is not None:
                return refused
        except (smtplib.SMTPException, OSError) as error:
            # Nothing was handed over: safe to try again later.
            self._drop_connection()
            return Outcome_(Result.RETRY, None, f"before data: {error}"[:500])
        try:
            connection.send(_DOT_AT_LINE_START.sub(b"..", envelope.data) + b".\r\n")
            code, reply = connection.getreply()
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            self._drop_connection()
            return Outcome_(Result.UNCERTAIN, None, f"after data: {error}"[:500])
        if code == 250:
            return Outcome_(Result.SENT, code)
        return _refused(code, reply, after_data=True)

    @staticmethod
    def _envelope_one_by_one(connection: smtplib.SMTP, envelope: Envelope) -> Outcome_ | None:
        """MAIL, RCPT, DATA, each waiting for its reply; None when the relay waits for the data."""
        code, reply = connection.mail(envelope.mail_from)
        if code >= 400:
            connection.rset()
            return _refused(code, reply)
        code, reply = connection.rcpt(envelope.recipient)
        if code >= 400:
            connection.rset()
            return _refused(code, reply, recipient=True)
        connection.putcmd("data")
        code, reply = connection.getreply()
        if code != 354:
            connection.rset()
            return _refused(code, reply)
        return None

    def _envelope_pipelined(self, connection: smtplib.SMTP, envelope: Envelope) -> Outcome_ | None:
        """MAIL, RCPT and DATA in one write (RFC 2920), then their three replies."""
        connection.send(
            b"MAIL FROM:<" + envelope.mail_from.encode() + b">\r\nRCPT TO:<"
            + envelope.recipient.encode() + b">\r\nDATA\r\n"
        )  # fmt: skip
        replies = [connection.getreply() for _ in range(3)]
        (mail_code, _), (rcpt_code, _), (data_code, _) = replies
        if mail_code < 400 and rcpt_code < 400 and data_code == 354:
            return None
        if data_code == 354:
            # The relay wants data for an envelope it refused: end this connection, send nothing.
            self._drop_connection()
        else:
            connection.rset()
        if mail_code >= 400:
            return _refused(*replies[0])
        if rcpt_code >= 400:
            return _refused(*replies[1], recipient=True)
        return _refused(*replies[2])

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _plain(address: str) -> bool:
    """An address that can go into a pipelined command as it is."""
    return address.isascii() and not any(c in address for c in "<>\r\n \t")


# RFC 3463 enhanced status: 5.1.x is a bad address, 5.2.x a mailbox that takes no mail.
_ADDRESS_PROBLEM = re.compile(r"^5\.[12]\.\d{1,3}\b")


def _refused(code: int, reply: bytes, *, recipient: bool = False, after_data: bool = False) -> Outcome_:
    """A 4xx is retried; a 5xx fails. It is a hard bounce of the address when refused at RCPT,
    or after the data with an address status (5.1.x, 5.2.x); a refusal of the content (5.7.x)
    or of the sender fails this message and leaves the address alone."""
    text = reply.decode("utf-8", "replace")[:400]
    if 400 <= code < 500 or code < 200:
        return Outcome_(Result.RETRY, code, text)
    address_problem = recipient or (after_data and bool(_ADDRESS_PROBLEM.match(text)))
    return Outcome_(Result.FAILED, code, text, is_recipient_refused=address_problem)
