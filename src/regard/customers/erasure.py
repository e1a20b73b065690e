"""How erasure (Art. 17, privacy.erasure) treats orders: what the field map of the registration cannot say."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import ProtectedError


def orders_erase(rows: models.QuerySet[Any], now: datetime) -> None:
    """Orders younger than the legal retention stay (they carry no personal field; the profile
    they point at is blanked); older ones are deleted with their lines. An order a remedy was
    granted against stays too: the grant is itself a financial record."""
    cutoff = now - timedelta(days=settings.REGARD_ORDER_RETENTION_DAYS)
    for order in rows.filter(purchased_at__lt=cutoff):
        try:
            with transaction.atomic():
                order.delete()
        except ProtectedError:
            continue
