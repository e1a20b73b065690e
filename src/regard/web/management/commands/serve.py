"""`regard serve`: the embedded all-in-one for a laptop or a demo."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from regard.customers.models import Customer
from regard.insights.services.recovery import recovery_kick_off
from regard.insights.services.rollups import dashboard_rollup_kick_off
from regard.outreach import dkim_keys
from regard.outreach.demo import outreach_demo_ensure
from regard.privacy.retention import retention_kick_off
from regard.privacy.roles import Role
from regard.privacy.services import user_create
from regard.support.demo import demo_support_address
from regard.support.demo_chat import demo_chat_site_ensure
from regard.web.demo import demo_stories_ensure
from regard.web.server import uvicorn_command


class Command(BaseCommand):
    help = (
        "Migrate, load demo data into an empty database, then run the web server, the task worker,"
        " the outbox dispatcher and the inbound SMTP listener."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.REGARD_HOST)
        parser.add_argument("--port", type=int, default=settings.REGARD_PORT)
        parser.add_argument("--no-demo", action="store_true", help="do not load demo data")
        parser.add_argument("--demo-customers", type=int, default=500)
        parser.add_argument("--smtpd-port", type=int, default=settings.REGARD_SMTPD_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        Path(settings.DATA_DIR).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        if not options["no_demo"] and not Customer.objects.exists():
            self.stdout.write(f"Loading demo data ({options['demo_customers']} customers)…")
            call_command("demo", customers=options["demo_customers"], seed=7, verbosity=0)
            # Train and run identity resolution so the review queue shows the planted duplicates.
            self.stdout.write("Looking for duplicate profiles…")
            call_command("match", "run", "--quiet", verbosity=0)
        if not options["no_demo"]:
            self._ensure_demo_campaign()
            demo_chat_site_ensure()
        username, password = self._ensure_admin()
        if not options["no_demo"]:
            # Again once the administrator exists: stories that need a user (promises) fill in now.
            for line in demo_stories_ensure():
                self.stdout.write(line)
        # The recovery worklist looks at the records every few minutes from now on (S24).
        recovery_kick_off()
        # Retention removes what outlived its period once a day (docs/privacy.md).
        retention_kick_off()
        # The dashboard's rollups are refreshed every few minutes from now on (C6).
        dashboard_rollup_kick_off()
        # The demo signs with a key of its own (made once under the data directory).
        key = dkim_keys.key_load(create=not settings.IS_PRODUCTION)
        url = f"http://{options['host']}:{options['port']}/"
        smtpd = f"smtp://{settings.REGARD_SMTPD_HOST}:{options['smtpd_port']}"
        processes, mail_out = self._start(options["host"], options["port"], options["smtpd_port"])
        self.stdout.write(
            self.style.SUCCESS(f"\nRegard is running at {url}\n")
            + f"  sign in as  {username} / {password}\n"
            + f"  API docs    {url}api/v1/docs\n"
            + (
                f"  chat demo   {url}demo/shop/ (the widget; agents answer in {url}support/)\n"
                if not options["no_demo"]
                else ""
            )
            + f"  database    {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
            + f" ({settings.DATABASES['default']['NAME']})\n"
            + f"  mail out    {mail_out}\n"
            + f"  SMTP in     {smtpd} (bounces, complaints, unsubscribe mail for {settings.REGARD_MAIL_DOMAIN})\n"
            + (
                f"  support     mail {demo_support_address()} at {smtpd}; inbox {url}support/;"
                f" contact form {url}contact/\n"
                if not options["no_demo"]
                else ""
            )
            + (
                f"  DKIM        {key.selector}._domainkey.{key.domain} (records: regard dkim show)\n"
                if key
                else ""
            )
            + "  stop with   Ctrl-C\n"
        )
        self._supervise(processes)

    def _ensure_demo_campaign(self) -> None:
        """Demo campaigns (a draft to preview, one under way) and a journey; made once."""
        for line in outreach_demo_ensure():
            self.stdout.write(line)

    def _ensure_admin(self) -> tuple[str, str]:
        username = os.environ.get("REGARD_ADMIN_USER", "admin")
        credentials = Path(settings.DATA_DIR) / "admin-credentials.txt"
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            known = credentials.read_text().strip() if credentials.exists() else ""
            return username, known or "(password set earlier; reset with `regard changepassword`)"
        password = os.environ.get("REGARD_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user_create(username=username, password=password, roles=[Role.ADMIN])
        credentials.write_text(password + "\n")
        credentials.chmod(0o600)
        return username, password

    def _start(self, host: str, port: int, smtpd_port: int) -> tuple[list[subprocess.Popen[bytes]], str]:
        python = sys.executable
        cli = [python, "-m", "regard.config.cli"]
        env = dict(os.environ)
        processes: list[subprocess.Popen[bytes]] = []
        if "REGARD_SMTP_RELAY" in os.environ:
            relay = settings.REGARD_SMTP_RELAY
            mail_out = f"relay {relay.split('@')[-1] if '@' in relay else relay}"
        else:
            # No relay configured: outbound mail goes through the whole send path to a local
            # mailbox and stops there, so the demo shows signed mail and never mails anyone.
            relay_port = _free_port()
            mailbox = Path(settings.DATA_DIR) / "demo-mailbox"
            env["REGARD_SMTP_RELAY"] = f"smtp://127.0.0.1:{relay_port}"
            processes.append(
                subprocess.Popen([*cli, "mailbox", "--port", str(relay_port), "--dir", str(mailbox)], env=env)
            )
            mail_out = (
                f"nothing leaves this machine: sent mail is kept in {mailbox} (set REGARD_SMTP_RELAY to send)"
            )
        web = uvicorn_command(host=host, port=port)
        worker = [*cli, "worker", "--no-reload"]
        dispatcher = [*cli, "dispatch"]
        smtpd = [*cli, "smtpd", "--host", settings.REGARD_SMTPD_HOST, "--port", str(smtpd_port)]
        processes += [subprocess.Popen(command, env=env) for command in (web, worker, dispatcher, smtpd)]
        return processes, mail_out

    def _supervise(self, processes: list[subprocess.Popen[bytes]]) -> None:
        def stop(*_: object) -> None:
            for process in processes:
                if process.poll() is None:
                    process.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        failed = [p.args for p in processes if p.returncode not in (0, -signal.SIGTERM, None)]
        if failed:
            self.stderr.write(f"stopped because a process exited: {failed}")
            sys.exit(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
