"""Links from the mirror to the records it was computed from, and the person's own weeks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.urls import reverse

from regard.insights.selectors.mirror.records import Link


def week_of(moment: datetime, zone: ZoneInfo) -> date:
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


_PLACEHOLDER = 987654321


@lru_cache(maxsize=64)
def _pattern(name: str) -> str:
    # A page lists hundreds of links; resolving each through reverse() cost more than the queries.
    return reverse(name, args=[_PLACEHOLDER])


def url_for(name: str, pk: int) -> str:
    return _pattern(name).replace(str(_PLACEHOLDER), str(pk))


def admin_link(model: str, pk: int, label: str) -> Link:
    app, name = model.split(".")
    return Link(label, url_for(f"admin:{app}_{name}_change", pk), f"{model}:{pk}")


def customer_link(customer_id: int, label: str, record: str) -> Link:
    return Link(label, url_for("customers:detail", customer_id) + "#timeline", record)


def outbox_link(customer_id: int, row_id: int, campaign_id: int | None) -> Link:
    record = f"outreach.outboxmessage:{row_id}"
    if campaign_id:
        return Link(f"campaign {campaign_id}", url_for("outreach:campaign", campaign_id), record)
    return customer_link(customer_id, f"message {row_id}", record)


def conversation_link(conversation_id: int, label: str = "") -> Link:
    return Link(
        label or f"conversation {conversation_id}",
        url_for("support:conversation", conversation_id),
        f"support.conversation:{conversation_id}",
    )
