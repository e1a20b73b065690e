"""`regard mailbox`: a local SMTP relay for demos that keeps every message in a Maildir.

`regard serve` starts it when no REGARD_SMTP_RELAY is set, so the demo's outbox really
goes through gate, render, DKIM and SMTP, and nothing leaves the machine: each message
lands, byte for byte as signed, in the Maildir to be read with any mail client.
"""

from __future__ import annotations

import mailbox
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from regard.outreach.smtpd import serve_until_stopped


class MaildirHandler:
    def __init__(self, directory: Path) -> None:
        self.maildir = mailbox.Maildir(directory, create=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or envelope.content
        self.maildir.add(b"Return-Path: <" + (envelope.mail_from or "").encode() + b">\r\n" + data)
        return "250 OK kept in the demo mailbox"


class Command(BaseCommand):
    help = "A local SMTP relay for demos: keeps every message in a Maildir, delivers nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)
        parser.add_argument("--dir", default=str(Path(settings.DATA_DIR) / "demo-mailbox"))

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["dir"])
        controller = Controller(
            MaildirHandler(directory), hostname=options["host"], port=options["port"], decode_data=False
        )

        def announce(port: int) -> None:
            self.stdout.write(f"Demo mailbox on smtp://{options['host']}:{port} keeps mail in {directory}")
            self.stdout.flush()

        serve_until_stopped(controller, announce=announce)
