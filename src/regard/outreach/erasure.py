"""How erasure (Art. 17, privacy.erasure) treats messages not yet sent and journeys under way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models

from regard.outreach import journeys
from regard.outreach.models import JourneyEnrollment, OutboxMessage


def outbox_erase(rows: models.QuerySet[Any], now: datetime) -> None:
    """Messages not yet sent are dropped: there is no one left to send them to."""
    rows.filter(state=OutboxMessage.State.PENDING).update(
        state=OutboxMessage.State.DROPPED,
        gate_outcome="drop",
        gate_reasons=[{"code": "erased", "detail": "the person was erased (Art. 17)"}],
    )


def enrollments_erase(rows: models.QuerySet[Any], now: datetime) -> None:
    """Active journeys end: their remaining steps would be written for no one."""
    active = rows.filter(state=JourneyEnrollment.State.ACTIVE).values_list("pk", flat=True)
    journeys.journeys_leave_by_ids(enrollment_ids=list(active), reason="erased", now=now)
