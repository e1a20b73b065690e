from __future__ import annotations

import email
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connections

from regard.outreach.sender import Relay, SmtpSender


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.Message:
        return email.message_from_bytes(self.data)


@dataclass
class Recorder:
    """An SMTP server that keeps what it accepts; tests can script replies per recipient."""

    received: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    on_message: Callable[[Received], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Offer PIPELINING (RFC 2920) in the EHLO reply, as Postfix and most relays do.
    pipelining: bool = False

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        item = Received(
            envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content
        )
        with self.lock:
            self.received.append(item)
        if self.on_message is not None:
            try:
                self.on_message(item)
            finally:
                connections.close_all()
        return "250 OK queued"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(recorder, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        yield recorder, f"smtp://127.0.0.1:{controller.port}"
    finally:
        controller.stop()


@pytest.fixture
def sender(smtp_server: tuple[Recorder, str]) -> Iterator[SmtpSender]:
    smtp = SmtpSender(Relay.from_url(smtp_server[1]), timeout=10)
    yield smtp
    smtp.close()


@pytest.fixture(autouse=True)
def _mail_settings(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    settings.REGARD_MAIL_DOMAIN = "mail.regard.test"
    settings.REGARD_PUBLIC_URL = "http://testserver"
