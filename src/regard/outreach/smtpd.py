"""The SMTP listener for what comes back (bounces, complaints, unsubscribe mail).

Thin on purpose: it refuses recipients that are not feedback addresses and mail that
is too large or not a message, and hands everything else to ``feedback.feedback_receive``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from django.db import close_old_connections

from regard.errors import InvalidInput
from regard.outreach import feedback

log = logging.getLogger(__name__)


def _receive(mail_from: str, rcpt_tos: list[str], data: bytes) -> None:
    close_old_connections()
    try:
        feedback.parse(data)  # refuse before writing anything for any recipient
        for rcpt_to in rcpt_tos:
            feedback.feedback_receive(mail_from=mail_from, rcpt_to=rcpt_to, data=data)
    finally:
        close_old_connections()


class FeedbackHandler:
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if feedback.destination_for(address) is None:
            return "550 5.1.1 Not a feedback address here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or envelope.content
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                None, _receive, envelope.mail_from or "", list(envelope.rcpt_tos), data
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
        data_size_limit=feedback.MAX_MESSAGE_BYTES,
        decode_data=False,
    )
