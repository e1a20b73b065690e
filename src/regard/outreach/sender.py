"""The only module that talks to a mail server (invariant 1).

Only the outbox dispatcher imports it; tests/outreach/test_invariant_only_dispatcher_sends.py
scans the source tree to keep it that way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class RefusingEmailBackend(BaseEmailBackend):
    """Django's mail API is switched off: every message goes through the outbox and the gate."""

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise RuntimeError("Regard sends mail only through the outbox dispatcher (invariant 1).")
