"""The recovery worklist in the demo: what the other demo stories did to people, found in their records."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from regard.insights.services.recovery import recovery_scan


def recovery_demo_ensure(*, now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    found = recovery_scan(since=now - timedelta(days=60), now=now)
    return [f"Recovery worklist: {len(found)} customer experience(s) to take up"] if found else []
