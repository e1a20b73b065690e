"""What the preferences API and the preference page both accept: one set of rules for both."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema


class PreferencesIn(Schema):
    channels: list[str] = Field(default_factory=list)
    excluded_topics: list[str] = Field(default_factory=list)
    max_messages_per_week: int | None = None
    paused_until: datetime | None = None
