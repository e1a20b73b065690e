"""`regard dispatch`: the outbox dispatcher loop (any number of them, over one database)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from regard.outreach.dispatcher import dispatch_until_idle
from regard.outreach.sender import Relay, SmtpSender


class Command(BaseCommand):
    help = "Claim due outbox messages, re-check the gate, sign and send them; loop until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
        parser.add_argument("--batch", type=int, default=200)
        parser.add_argument("--idle-sleep", type=float, default=1.0)
        parser.add_argument("--relay", default=settings.REGARD_SMTP_RELAY)

    def handle(self, *args: Any, **options: Any) -> None:
        relay = Relay.from_url(options["relay"])
        sender = SmtpSender(relay)
        if not options["once"]:
            self.stdout.write(f"Dispatching the outbox through smtp relay {relay.host}:{relay.port}")
            self.stdout.flush()
        try:
            while True:
                counts = dispatch_until_idle(sender=sender, limit=options["batch"])
                if options["verbosity"] > 1 and counts["claimed"]:
                    self.stdout.write(str(dict(counts)))
                if options["once"]:
                    return
                sender.close()
                time.sleep(options["idle_sleep"])
        except KeyboardInterrupt:
            pass
        finally:
            sender.close()
