"""`regard smtpd`: receive bounces (DSN), complaints (ARF) and List-Unsubscribe mail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from regard.outreach.smtpd import feedback_controller, serve_until_stopped


class Command(BaseCommand):
    help = "Listen over SMTP for delivery status notifications, ARF complaints and unsubscribe mail."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.REGARD_SMTPD_HOST)
        parser.add_argument("--port", type=int, default=settings.REGARD_SMTPD_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        controller = feedback_controller(host=options["host"], port=options["port"])

        def announce(port: int) -> None:
            self.stdout.write(
                f"Receiving bounces, complaints and unsubscribe mail on smtp://{options['host']}:{port}"
                f" (domain {settings.REGARD_MAIL_DOMAIN})",
            )
            self.stdout.flush()

        serve_until_stopped(controller, announce=announce)
