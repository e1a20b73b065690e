"""`regard serve`: the embedded all-in-one for a laptop or a demo."""

from __future__ import annotations

import os
import secrets
import signal
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
from regard.privacy.roles import Role
from regard.privacy.services import user_create


class Command(BaseCommand):
    help = "Migrate, load demo data into an empty database, then run the web server and the task worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.REGARD_HOST)
        parser.add_argument("--port", type=int, default=settings.REGARD_PORT)
        parser.add_argument("--no-demo", action="store_true", help="do not load demo data")
        parser.add_argument("--demo-customers", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        Path(settings.DATA_DIR).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        if not options["no_demo"] and not Customer.objects.exists():
            self.stdout.write(f"Loading demo data ({options['demo_customers']} customers)…")
            call_command("demo", customers=options["demo_customers"], seed=7, verbosity=0)
            # Train and run identity resolution so the review queue shows the planted duplicates.
            self.stdout.write("Looking for duplicate profiles…")
            call_command("match", "run", "--quiet", verbosity=0)
        username, password = self._ensure_admin()
        url = f"http://{options['host']}:{options['port']}/"
        processes = self._start(options["host"], options["port"])
        self.stdout.write(
            self.style.SUCCESS(f"\nRegard is running at {url}\n")
            + f"  sign in as  {username} / {password}\n"
            + f"  API docs    {url}api/v1/docs\n"
            + f"  database    {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
            + f" ({settings.DATABASES['default']['NAME']})\n"
            + "  stop with   Ctrl-C\n"
        )
        self._supervise(processes)

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

    def _start(self, host: str, port: int) -> list[subprocess.Popen[bytes]]:
        python = sys.executable
        web = [
            python,
            "-m",
            "uvicorn",
            "regard.config.asgi:application",
            "--host",
            host,
            "--port",
            str(port),
            "--ws",
            "auto",
            "--no-access-log",
        ]
        worker = [python, "-m", "regard.config.cli", "worker", "--no-reload"]
        return [subprocess.Popen(web), subprocess.Popen(worker)]

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
