"""A few months of service history for the dashboard's demo: conversations answered fast and slow,
on every channel and by two teams, with satisfaction answers (C6). The days that are over are then
rolled up, so the dashboard of `make run` reads them from the rollups as it would in production."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from regard.customers.models import Customer
from regard.insights.models import RollupDay
from regard.insights.services.rollups import dashboard_rollup_build
from regard.support import services as support_services
from regard.support.models import Conversation, SatisfactionSurvey, Team

DEMO_SUBJECT_PREFIX = "(history)"
BERLIN = ZoneInfo("Europe/Berlin")
CONVERSATIONS = 120


def _working_moment(day: datetime, rng: random.Random) -> datetime:
    """A moment inside office hours (Mon–Fri 09:00–16:00, Berlin) on or before ``day``: people write then."""
    local = day.astimezone(BERLIN)
    while local.weekday() >= 5:
        local -= timedelta(days=1)
    return local.replace(hour=rng.randint(9, 15), minute=rng.randint(0, 59), second=0, microsecond=0)


HISTORY_DAYS = 100


def dashboard_demo_ensure(*, now: datetime | None = None, seed: int = 11) -> list[str]:
    now = now or timezone.now()
    lines = _history_ensure(now=now, seed=seed)
    if lines or not RollupDay.objects.exists():
        # Every demo story has written its records by now (this one runs after the mirror's).
        today = now.astimezone(UTC).date()
        days = dashboard_rollup_build(
            first_day=today - timedelta(days=HISTORY_DAYS + 2), last_day=today, now=now
        )
        lines.append(f"Dashboard rollups built for {len(days)} days (the refresh task keeps today current)")
    return lines


@transaction.atomic
def _history_ensure(*, now: datetime, seed: int) -> list[str]:
    if Conversation.objects.filter(subject__startswith=DEMO_SUBJECT_PREFIX).exists():
        return []
    rng = random.Random(seed)
    care = Team.objects.filter(slug="care").first()
    returns, _ = Team.objects.get_or_create(
        slug="returns", defaults={"name": "Returns", "time_zone": "Europe/Berlin", "country": "DE"}
    )
    customers = list(Customer.objects.filter(merged_into__isnull=True).order_by("id")[:300])
    if not customers:
        return []
    topics = [
        "Where is my order",
        "Pairing the earphones",
        "Invoice copy",
        "Charged twice",
        "Return label",
        "Broken case",
    ]
    for index in range(CONVERSATIONS):
        opened = _working_moment(now - timedelta(days=rng.uniform(1, HISTORY_DAYS)), rng)
        channel = rng.choice(["email", "email", "chat", "phone", "form"])
        # The returns team answers mail slowly: the dashboard should show it beside care (S21).
        team = returns if index % 3 == 0 else care
        kind = "complaint" if rng.random() < 0.12 else "question"
        conversation = support_services.conversation_open(
            customer=rng.choice(customers),
            channel=channel,
            subject=f"{DEMO_SUBJECT_PREFIX} {rng.choice(topics)}",
            kind=kind,
            team=team,
            via="demo",
            now=opened,
        )
        slow = team == returns and channel == "email"
        answered = opened + timedelta(minutes=rng.uniform(30, 60 * 30) if slow else rng.uniform(2, 240))
        resolved = answered + timedelta(hours=rng.uniform(0.5, 48))
        Conversation.objects.filter(pk=conversation.pk).update(
            first_response_at=answered,
            first_response_due_at=opened + timedelta(hours=8),
            resolved_at=resolved,
            resolution_due_at=opened + timedelta(days=3),
            status="resolved" if resolved < now else "open",
            sla_breached_at=opened + timedelta(hours=8) if answered > opened + timedelta(hours=8) else None,
        )
        if resolved < now and rng.random() < 0.6:
            score = rng.choice([4, 5, 5, 5]) if not slow else rng.choice([1, 2, 3, 4])
            SatisfactionSurvey.objects.create(
                conversation=conversation,
                token=f"demo-history-{index}",
                score=score,
                sent_at=resolved,
                answered_at=resolved + timedelta(hours=2),
            )
    return [
        f"Service history for the dashboard: {CONVERSATIONS} conversations over {HISTORY_DAYS} days, two teams"
    ]
