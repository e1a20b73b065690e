"""Deployment checks of Regard's own (``regard check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


def allowed_hosts_not_wildcard(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    # "*" accepts any Host header: password-reset links and absolute URLs can then point anywhere.
    if "*" in settings.ALLOWED_HOSTS:
        return [
            checks.Warning(
                "REGARD_ALLOWED_HOSTS contains '*': any Host header is accepted.",
                hint="Name the host(s) Regard is served on, e.g. crm.example.com.",
                id="regard.W001",
            )
        ]
    return []
