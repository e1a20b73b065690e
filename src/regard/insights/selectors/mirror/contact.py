"""What reached the person, week by week, and what the gate held back or dropped (S1, S12)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncWeek

from regard.consent.models import PreferenceChange
from regard.customers.models import Customer
from regard.insights.selectors.mirror.links import admin_link, outbox_link, week_of
from regard.insights.selectors.mirror.records import (
    DROP_WORDS,
    HOLD_WORDS,
    MAX_GATE_LISTED,
    RECEIVED_STATES,
    RECENT_DAYS,
    Contacts,
    ContactWeek,
    GateItem,
    GateSummary,
    Period,
)
from regard.outreach.gate import zone_or_utc
from regard.outreach.models import OutboxMessage
from regard.outreach.selectors import settings_policy

_QUIET_WEEK: dict[str, Any] = {"by_channel": {}, "marketing": 0, "service": 0}


def contacts_section(customer: Customer, group: list[int], period: Period) -> Contacts:
    zone = zone_or_utc(customer.time_zone)
    received = OutboxMessage.objects.filter(
        customer_id__in=group,
        sent_at__gte=period.since,
        sent_at__lt=period.until,
        state__in=RECEIVED_STATES,
    )
    recent_since = max(period.since, period.until - timedelta(days=RECENT_DAYS))
    # One grouped query: week (in the person's own zone) × channel × kind, and how many of
    # each fell in the last RECENT_DAYS (the groups add up to the period's recent total).
    rows = (
        received.annotate(week=TruncWeek("sent_at", tzinfo=zone))
        .values("week", "channel", "kind")
        .annotate(n=Count("id"), recent=Count("id", filter=Q(sent_at__gte=recent_since)))
        .order_by()
    )
    preference = (
        PreferenceChange.objects.filter(customer_id__in=group, recorded_at__lt=period.until)
        .order_by("-recorded_at", "-id")
        .values_list("id", "max_messages_per_week")
        .first()
    )
    chosen = preference[1] if preference is not None else None
    recent_total = 0
    cap = settings_policy().marketing_per_week
    weeks: dict[date, dict[str, Any]] = {}
    channels: set[str] = set()
    for row in rows:
        week = row["week"]
        week_start = week.date() if isinstance(week, datetime) else week
        slot = weeks.get(week_start)
        if slot is None:
            slot = weeks[week_start] = {"by_channel": Counter(), "marketing": 0, "service": 0}
        slot["by_channel"][row["channel"]] += row["n"]
        slot["marketing" if row["kind"] == OutboxMessage.Kind.MARKETING else "service"] += row["n"]
        channels.add(row["channel"])
        recent_total += row["recent"]
    # Every week of the period appears, quiet ones too: a chart with gaps reads as busier.
    out: list[ContactWeek] = []
    start = week_of(period.since, zone)
    last = week_of(period.until - timedelta(microseconds=1), zone)
    while start <= last:
        slot = weeks.get(start, _QUIET_WEEK)
        total = slot["marketing"] + slot["service"]
        out.append(
            ContactWeek(
                week_start=start,
                by_channel=dict(sorted(slot["by_channel"].items())),
                marketing=slot["marketing"],
                service=slot["service"],
                above_choice=chosen is not None and total > chosen,
                above_cap=slot["marketing"] > min(cap, chosen if chosen else cap),
            )
        )
        start += timedelta(days=7)
    return Contacts(
        weeks=out,
        channels=sorted(channels),
        total=sum(w.total for w in out),
        marketing=sum(w.marketing for w in out),
        service=sum(w.service for w in out),
        recent_total=recent_total,
        recent_days=min(RECENT_DAYS, period.days),
        chosen_per_week=chosen,
        chosen_link=(
            admin_link("consent.preferencechange", preference[0], "their preferences")
            if preference is not None
            else None
        ),
        cap_per_week=cap,
    )


def _reason_words(reason: dict[str, Any], outcome: str) -> str:
    code = str(reason.get("code", ""))
    words = (HOLD_WORDS if outcome == "hold" else DROP_WORDS).get(code) or HOLD_WORDS.get(code)
    if words is None:
        words = DROP_WORDS.get(code, code.replace("_", " "))
    if "{topics}" in words:
        detail = str(reason.get("detail", ""))
        topics = detail.removeprefix("customer excluded ").strip() or "topics"
        words = words.format(topics=topics)
    return words


def gate_section(customer: Customer, group: list[int], period: Period) -> GateSummary:
    # Held rows wait with gate_outcome "hold"; dropped rows keep their reasons. Grouped by the
    # reasons themselves in SQL: a runaway journey's thousand drops are one row here.
    rows = OutboxMessage.objects.filter(
        customer_id__in=group,
        created_at__gte=period.since,
        created_at__lt=period.until,
    ).filter(Q(gate_outcome__in=["hold", "drop"]) | Q(state=OutboxMessage.State.HELD))
    held: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    for group_row in rows.values("state", "gate_reasons").annotate(n=Count("id")).order_by():
        outcome = "drop" if group_row["state"] == OutboxMessage.State.DROPPED else "hold"
        reasons = group_row["gate_reasons"] or []
        words = [_reason_words(r, outcome) for r in reasons]
        # A drop says every reason that applied; the hold words among them are not why it was dropped.
        counted = (
            [_reason_words(r, "drop") for r in reasons if r.get("code") not in HOLD_WORDS]
            if outcome == "drop"
            else words
        ) or words
        for word in dict.fromkeys(counted):
            (dropped if outcome == "drop" else held)[word] += group_row["n"]
    items = [
        GateItem(
            outcome="drop" if row["state"] == OutboxMessage.State.DROPPED else "hold",
            state=row["state"],
            purpose=row["purpose"],
            channel=row["channel"],
            created_at=row["created_at"],
            reasons=[
                _reason_words(r, "drop" if row["state"] == OutboxMessage.State.DROPPED else "hold")
                for r in row["gate_reasons"] or []
            ],
            link=outbox_link(row["customer_id"], row["id"], row["campaign_id"]),
        )
        for row in rows.values(
            "id", "customer_id", "campaign_id", "state", "purpose", "channel", "created_at", "gate_reasons"
        ).order_by("-created_at", "-id")[:MAX_GATE_LISTED]
    ]
    sentences = [f"held {n}× by {words}" for words, n in sorted(held.items(), key=lambda kv: (-kv[1], kv[0]))]
    sentences += [
        f"dropped {n}×: {words}" for words, n in sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return GateSummary(held=dict(held), dropped=dict(dropped), sentences=sentences, items=items)
