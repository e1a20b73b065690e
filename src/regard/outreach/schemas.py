"""What the campaign API and the campaign form both accept: one set of rules for both."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class CampaignIn(Schema):
    name: str
    purpose: str
    subject: str
    body: str
    audience: dict[str, Any] = Field(
        default_factory=dict,
        description="A rule (countries, languages, ordered_skus, bought_categories, not_bought_categories, "
        "ordered_within_days, not_ordered_for_days, created_within_days, has_consent) or customer_ids; "
        "see docs/campaigns.md",
    )
    topics: list[str] = Field(default_factory=list)
    scheduled_at: datetime | None = None
    channel: str = "email"
