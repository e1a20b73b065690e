"""The dashboard computed straight from the records, as it was before rollups: the reference.

Kept word for word (renamed ``reference_*``) so the rollup-backed dashboard can be held
equal to it on the same data (issue 12 §4).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min, Q

from regard.consent.models import ConsentEvent
from regard.customers.models import Order
from regard.insights.selectors.dashboard import PRESSURE_BUCKETS, Filters, percentile
from regard.outreach.models import Campaign, InboundFeedback, OutboxMessage
from regard.support.models import Conversation, SatisfactionSurvey
from regard.support.sla import calendar_for
from regard.support.working_time import WorkingCalendar, working_minutes_between


@dataclass
class ServiceRow:
    """One channel's or team's service, side by side with the others (S21)."""

    label: str
    conversations: int = 0
    first_response_minutes: list[int] = field(default_factory=list)
    resolution_minutes: list[int] = field(default_factory=list)
    sla_met: int = 0
    sla_missed: int = 0
    complaints: int = 0
    scores: list[int] = field(default_factory=list)
    surveys_sent: int = 0

    def as_dict(self) -> dict[str, Any]:
        judged = self.sla_met + self.sla_missed
        return {
            "label": self.label,
            "conversations": self.conversations,
            "first_response_p50": percentile(self.first_response_minutes, 0.5),
            "first_response_p90": percentile(self.first_response_minutes, 0.9),
            "resolution_p50": percentile(self.resolution_minutes, 0.5),
            "resolution_p90": percentile(self.resolution_minutes, 0.9),
            "sla_attainment": round(100 * self.sla_met / judged, 1) if judged else None,
            "complaint_rate": round(100 * self.complaints / self.conversations, 1)
            if self.conversations
            else None,
            "satisfaction": round(statistics.mean(self.scores), 2) if self.scores else None,
            "survey_response_rate": round(100 * len(self.scores) / self.surveys_sent, 1)
            if self.surveys_sent
            else None,
        }


def _met(done: datetime | None, due: datetime | None, until: datetime) -> bool | None:
    if due is None:
        return None
    if done is not None:
        return done <= due
    return False if due < until else None


def reference_service_rows(
    filters: Filters,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(all, per channel, per team, per week) from the conversations opened in the period."""
    conversations = Conversation.objects.filter(created_at__gte=filters.since, created_at__lt=filters.until)
    if filters.channel:
        conversations = conversations.filter(channel=filters.channel)
    if filters.team is not None:
        conversations = conversations.filter(team=filters.team)
    conversations = conversations.select_related("team").only(
        "channel",
        "kind",
        "created_at",
        "first_response_at",
        "resolved_at",
        "first_response_due_at",
        "resolution_due_at",
        "team__name",
        "team__slug",
        "team__time_zone",
        "team__country",
        "team__business_hours",
    )
    surveys = {
        s.conversation_id: s
        for s in SatisfactionSurvey.objects.filter(conversation__in=conversations).only(
            "conversation_id", "score", "sent_at", "answered_at"
        )
    }
    overall = ServiceRow("All")
    by_channel: dict[str, ServiceRow] = {}
    by_team: dict[str, ServiceRow] = {}
    by_week: dict[str, ServiceRow] = {}
    calendars: dict[int | None, WorkingCalendar] = {}
    for conversation in conversations.iterator(chunk_size=2000):
        calendar = calendars.get(conversation.team_id)
        if calendar is None:
            calendar = calendars[conversation.team_id] = calendar_for(conversation.team)
        week = conversation.created_at.astimezone(calendar.zone).strftime("%G-W%V")
        rows = [
            overall,
            by_channel.setdefault(conversation.channel, ServiceRow(conversation.channel)),
            by_team.setdefault(
                conversation.team.name if conversation.team else "No team",
                ServiceRow(conversation.team.name if conversation.team else "No team"),
            ),
            by_week.setdefault(week, ServiceRow(week)),
        ]
        first = (
            working_minutes_between(conversation.created_at, conversation.first_response_at, calendar)
            if conversation.first_response_at
            else None
        )
        resolved = (
            working_minutes_between(conversation.created_at, conversation.resolved_at, calendar)
            if conversation.resolved_at
            else None
        )
        verdicts = [
            _met(conversation.first_response_at, conversation.first_response_due_at, filters.until),
            _met(conversation.resolved_at, conversation.resolution_due_at, filters.until),
        ]
        survey = surveys.get(conversation.pk)
        for row in rows:
            row.conversations += 1
            if first is not None:
                row.first_response_minutes.append(first)
            if resolved is not None:
                row.resolution_minutes.append(resolved)
            row.sla_met += sum(1 for v in verdicts if v is True)
            row.sla_missed += sum(1 for v in verdicts if v is False)
            row.complaints += conversation.kind == Conversation.Kind.COMPLAINT
            if survey is not None and survey.sent_at is not None:
                row.surveys_sent += 1
                if survey.score is not None:
                    row.scores.append(survey.score)
    return (
        overall.as_dict(),
        [r.as_dict() for r in sorted(by_channel.values(), key=lambda r: r.label)],
        [r.as_dict() for r in sorted(by_team.values(), key=lambda r: r.label)],
        [r.as_dict() for r in sorted(by_week.values(), key=lambda r: r.label)],
    )


def reference_campaign_rates(filters: Filters) -> list[dict[str, Any]]:
    """Per campaign sent in the period: unsubscribes and spam complaints against messages sent."""
    sent = (
        OutboxMessage.objects.filter(
            state=OutboxMessage.State.SENT,
            sent_at__gte=filters.since,
            sent_at__lt=filters.until,
            campaign__isnull=False,
        )
        .values("campaign_id")
        .annotate(n=Count("id"))
    )
    counts = {row["campaign_id"]: row["n"] for row in sent}
    if not counts:
        return []
    message_campaign = dict(
        OutboxMessage.objects.filter(campaign_id__in=counts)
        .exclude(message_id="")
        .values_list("message_id", "campaign_id")
    )
    unsubscribes: Counter[int] = Counter()
    for proof in ConsentEvent.objects.filter(
        action=ConsentEvent.Action.WITHDRAWN, recorded_at__gte=filters.since, recorded_at__lt=filters.until
    ).values_list("proof", flat=True):
        campaign = message_campaign.get(str((proof or {}).get("message_id", "")))
        if campaign is not None:
            unsubscribes[campaign] += 1
    complaints = Counter(
        InboundFeedback.objects.filter(
            kind=InboundFeedback.Kind.COMPLAINT,
            outbox_message__campaign_id__in=counts,
            received_at__gte=filters.since,
            received_at__lt=filters.until,
        ).values_list("outbox_message__campaign_id", flat=True)
    )
    names = dict(Campaign.objects.filter(pk__in=counts).values_list("pk", "name"))
    return [
        {
            "campaign": names.get(campaign, str(campaign)),
            "sent": total,
            "unsubscribes": unsubscribes[campaign],
            "unsubscribe_rate": round(100 * unsubscribes[campaign] / total, 2),
            "spam_complaints": complaints[campaign],
            "spam_complaint_rate": round(100 * complaints[campaign] / total, 3),
        }
        for campaign, total in sorted(counts.items(), key=lambda item: -item[1])
    ]


def reference_contact_pressure(filters: Filters, *, threshold: int = 3) -> dict[str, Any]:
    """Messages each customer got in the 7 days before the end of the period, and who sent them."""
    week = OutboxMessage.objects.filter(
        state=OutboxMessage.State.SENT,
        sent_at__gte=filters.until - timedelta(days=7),
        sent_at__lt=filters.until,
    )
    per_customer = list(week.values("customer_id").annotate(n=Count("id")).values_list("n", flat=True))
    buckets = []
    for low, high in PRESSURE_BUCKETS:
        label = f"{low}" if low == high else (f"{low}–{high}" if high else f"{low}+")
        buckets.append(
            {
                "messages": label,
                "customers": sum(1 for n in per_customer if n >= low and (high is None or n <= high)),
            }
        )
    sources = week.aggregate(
        by_campaign=Count("id", filter=Q(campaign__isnull=False)),
        by_journey=Count("id", filter=~Q(journey="")),
        by_service=Count("id", filter=Q(kind=OutboxMessage.Kind.SERVICE, campaign__isnull=True, journey="")),
    )
    return {
        "threshold": threshold,
        "customers_over_threshold": sum(1 for n in per_customer if n > threshold),
        "customers_contacted": len(per_customer),
        "distribution": buckets,
        "sources": [
            {"source": name.removeprefix("by_"), "messages": count} for name, count in sources.items()
        ],
    }


def reference_retention(filters: Filters) -> dict[str, Any]:
    """Customers who ordered in the period before and not in this one, by the month they first ordered."""
    length = filters.until - filters.since
    before = set(
        Order.objects.filter(
            purchased_at__gte=filters.since - length, purchased_at__lt=filters.since
        ).values_list("customer_id", flat=True)
    )
    now = set(
        Order.objects.filter(purchased_at__gte=filters.since, purchased_at__lt=filters.until).values_list(
            "customer_id", flat=True
        )
    )
    first_orders = dict(
        Order.objects.filter(customer_id__in=before)
        .values("customer_id")
        .annotate(first=Min("purchased_at"))
        .values_list("customer_id", "first")
    )
    cohorts: dict[str, dict[str, int]] = defaultdict(lambda: {"ordered_before": 0, "ordered_again": 0})
    for customer_id in before:
        month = first_orders[customer_id].strftime("%Y-%m")
        cohorts[month]["ordered_before"] += 1
        cohorts[month]["ordered_again"] += customer_id in now
    rows = [
        {
            "cohort": month,
            **counts,
            "churned": counts["ordered_before"] - counts["ordered_again"],
            "retention": round(100 * counts["ordered_again"] / counts["ordered_before"], 1),
        }
        for month, counts in sorted(cohorts.items())
    ]
    retained = len(before & now)
    return {
        "ordered_before": len(before),
        "ordered_again": retained,
        "churned": len(before) - retained,
        "retention": round(100 * retained / len(before), 1) if before else None,
        "cohorts": rows,
    }


def reference_dashboard(filters: Filters) -> dict[str, Any]:
    overall, channels, teams, weeks = reference_service_rows(filters)
    return {
        "overall": overall,
        "channels": channels,
        "teams": teams,
        "weeks": weeks,
        "campaigns": reference_campaign_rates(filters),
        "pressure": reference_contact_pressure(filters),
        "retention": reference_retention(filters),
    }
