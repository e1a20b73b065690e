"""`regard web`: the ASGI web server alone (production runs it beside `regard worker`)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from regard.web.server import uvicorn_command


class Command(BaseCommand):
    help = "Run the web server (HTTP and websockets) with uvicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.REGARD_HOST)
        parser.add_argument("--port", type=int, default=settings.REGARD_PORT)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        argv = uvicorn_command(host=options["host"], port=options["port"], workers=options["workers"])
        os.execv(sys.executable, argv)
