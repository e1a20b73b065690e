"""The SMTP listener for what comes back (bounces, complaints, unsubscribe mail) and for
the addresses other apps register (the support desk's addresses, see ``InboundRoute``).

Thin on purpose: it refuses recipients that are neither feedback addresses nor claimed by
a registered route, and mail that is too large (552) or not a message, and hands
everything else to ``feedback.feedback_receive`` or the route's ``receive``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from django.db import close_old_connections

from regard.errors import InvalidInput
from regard.outreach import feedback

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundRoute:
    """Mail for addresses an app claims; registered from the app's ``AppConfig.ready``.

    ``accepts(address)`` runs in a worker thread (it may read the database);
    ``receive(mail_from, rcpt_tos, data)`` gets every accepted recipient of one mail at once.
    """

    name: str
    accepts: Callable[[str], bool]
    receive: Callable[[str, list[str], bytes], None]
    max_bytes: int


_routes: dict[str, InboundRoute] = {}


def register_inbound_route(route: InboundRoute) -> None:
    _routes[route.name] = route


def _route_for(address: str) -> InboundRoute | None:
    close_old_connections()
    try:
        return next((route for route in _routes.values() if route.accepts(address)), None)
    finally:
        close_old_connections()


def _receive(mail_from: str, rcpt_tos: list[str], data: bytes) -> None:
    close_old_connections()
    try:
        feedback.parse(data)  # refuse before writing anything for any recipient
        for rcpt_to in rcpt_tos:
            feedback.feedback_receive(mail_from=mail_from, rcpt_to=rcpt_to, data=data)
    finally:
        close_old_connections()


def _receive_routed(route: InboundRoute, mail_from: str, rcpt_tos: list[str], data: bytes) -> None:
    close_old_connections()
    try:
        route.receive(mail_from, rcpt_tos, data)
    finally:
        close_old_connections()


class FeedbackHandler:
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if feedback.destination_for(address) is None:
            route = (
                await asyncio.get_running_loop().run_in_executor(None, _route_for, address)
                if _routes
                else None
            )
            if route is None:
                return "550 5.1.1 Not a feedback address here"
            envelope.routed = {**getattr(envelope, "routed", {}), address: route}
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or envelope.content
        loop = asyncio.get_running_loop()
        routed: dict[str, InboundRoute] = getattr(envelope, "routed", {})
        feedback_rcpts = [a for a in envelope.rcpt_tos if a not in routed]
        if feedback_rcpts and len(data) > feedback.MAX_MESSAGE_BYTES:
            return "552 5.3.4 Message too big for this address"
        by_route: dict[str, list[str]] = {}
        for address, route in routed.items():
            if len(data) > route.max_bytes:
                return "552 5.3.4 Message too big for this address"
            by_route.setdefault(route.name, []).append(address)
        try:
            if feedback_rcpts:
                await loop.run_in_executor(None, _receive, envelope.mail_from or "", feedback_rcpts, data)
            for name, addresses in by_route.items():
                await loop.run_in_executor(
                    None, _receive_routed, _routes[name], envelope.mail_from or "", addresses, data
                )
        except InvalidInput as refused:
            log.info("refused inbound mail from %s: %s", envelope.mail_from, refused)
            return f"550 5.6.0 {refused}"
        except Exception:
            # Nothing was committed for this mail: the sending server keeps it and tries again.
            log.exception("inbound mail from %s could not be handled", envelope.mail_from)
            return "451 4.3.0 Temporary failure, try again later"
        return "250 OK"


def feedback_controller(*, host: str, port: int) -> Controller:
    return Controller(
        FeedbackHandler(),
        hostname=host,
        port=port,
        # The largest any address takes; each mail is then checked against its recipients' limit.
        data_size_limit=max([feedback.MAX_MESSAGE_BYTES, *(route.max_bytes for route in _routes.values())]),
        decode_data=False,
    )


def serve_until_stopped(controller: Controller, *, announce: Callable[[int], None]) -> None:
    """Run an SMTP listener in the foreground until SIGTERM or Ctrl-C (`regard smtpd`, `regard mailbox`)."""
    # aiosmtpd logs every connection at INFO; its warnings and errors still show.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    controller.start()
    announce(controller.port)
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
