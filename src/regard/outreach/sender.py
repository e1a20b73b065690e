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

from regard.outreach.gate import Decision, Outcome
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
            code, reply = connection.mail(envelope.mail_from)
            if code == 421 or code >= 400:
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
        return _refused(code, reply)

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _refused(code: int, reply: bytes, *, recipient: bool = False) -> Outcome_:
    text = reply.decode("utf-8", "replace")[:400]
    if 400 <= code < 500 or code < 200:
        return Outcome_(Result.RETRY, code, text)
    return Outcome_(Result.FAILED, code, text, is_recipient_refused=recipient)
