"""How erasure (Art. 17, privacy.erasure) treats the copies of a conversation in webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models

from regard.support.models import WebhookDelivery


def conversations_erase(rows: models.QuerySet[Any], now: datetime) -> None:
    """Webhook deliveries carry a copy of the conversation and its messages; blank them."""
    ids = list(rows.values_list("pk", flat=True))
    if ids:
        WebhookDelivery.objects.filter(payload__conversation__id__in=ids).update(
            payload={"erased": True, "occurred_at": now.isoformat()}
        )
