"""Reads for the campaign screen: the audience preview before launch and live progress after (C3).

The preview asks the same gate the dispatcher asks, now, for every customer the audience rule
selects (up to ``PREVIEW_LIMIT``; beyond that the first ones stand for the rest and the screen
says it is an estimate), and renders a few sample messages. Marketers see counts and samples
with names masked; only a role that may read customers (customer.read) sees them unmasked,
and that read is audited.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from regard.outreach import gate
from regard.outreach.models import Campaign, OutboxMessage
from regard.outreach.render import MissingData, customer_context, render
from regard.outreach.selectors import (
    audience_queryset,
    campaign_message_facts,
    reason_label,
    recipients_load,
    settings_policy,
)
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record_reads

PREVIEW_LIMIT = 5_000
CHUNK = 500
MASK = "•••"


@dataclass
class Sample:
    subject: str
    body: str
    outcome: str
    is_masked: bool
    customer_id: int | None  # None when masked: the marketer does not learn who it is


@dataclass
class AudiencePreview:
    matched: int
    evaluated: int
    by_outcome: dict[str, int]
    by_reason: list[tuple[str, str, int]]  # (code, label, count), most frequent first
    samples: list[Sample] = field(default_factory=list)

    @property
    def is_estimate(self) -> bool:
        return self.evaluated < self.matched


def _mask(text: str, names: list[str]) -> str:
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = text.replace(name, name[0] + MASK)
    return text


def campaign_preview(
    *,
    actor: AnyUser,
    campaign: Campaign,
    now: datetime | None = None,
    samples: int = 3,
    limit: int = PREVIEW_LIMIT,
    via: str = "web",
) -> AudiencePreview:
    """How many the rule selects and what the gate would do with them right now, with reasons."""
    access.require(actor, Capability.CAMPAIGN_MANAGE)
    now = now or timezone.now()
    customers = audience_queryset(campaign.audience, now=now)
    matched = customers.count()
    ids = list(customers.order_by("pk").values_list("pk", flat=True)[:limit])
    may_read = access.has_capability(actor, Capability.CUSTOMER_READ)
    message = campaign_message_facts(campaign)
    policy = settings_policy()
    audience = campaign.audience or {}
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    shown: list[Sample] = []
    for start in range(0, len(ids), CHUNK):
        recipients = recipients_load(
            ids[start : start + CHUNK],
            now=now,
            channel=campaign.channel,
            content_keys=[message.content_key],
            with_categories=bool(audience.get("bought_categories") or audience.get("not_bought_categories")),
        )
        for recipient in recipients.values():
            decision = gate.decide(message, recipient.state, now, policy)
            outcome, codes = decision.outcome.value, decision.codes()
            rendered = None
            if decision.outcome is not gate.Outcome.DROP:
                customer = recipient.customer
                context = customer_context(customer)
                context.update(unsubscribe_url="(unsubscribe link)", preferences_url="(preferences link)")
                try:
                    rendered = render(
                        subject=campaign.subject,
                        body=campaign.body,
                        variants=campaign.variants,
                        language=customer.language,
                        context=context,
                    )
                except MissingData:
                    outcome, codes = gate.Outcome.HOLD.value, [*codes, "missing_data"]
                if campaign.channel != "email":  # the dispatcher holds these for a person (no sender)
                    outcome, codes = gate.Outcome.HOLD.value, [*codes, "no_sender"]
            outcomes[outcome] += 1
            reasons.update(set(codes))
            if rendered is not None and len(shown) < samples:
                customer = recipient.customer
                names = [customer.preferred_name, customer.given_name, customer.family_name]
                shown.append(
                    Sample(
                        subject=rendered.subject if may_read else _mask(rendered.subject, names),
                        body=rendered.body if may_read else _mask(rendered.body, names),
                        outcome=outcome,
                        is_masked=not may_read,
                        customer_id=customer.pk if may_read else None,
                    )
                )
    if may_read and shown:
        audit_record_reads(
            actor=actor,
            customer_ids=[s.customer_id for s in shown if s.customer_id is not None],
            object_type="campaign_preview",
            via=via,
            detail={"campaign": campaign.pk},
        )
    return AudiencePreview(
        matched=matched,
        evaluated=len(ids),
        by_outcome={o.value: outcomes.get(o.value, 0) for o in gate.Outcome},
        by_reason=[(code, reason_label(code), n) for code, n in reasons.most_common()],
        samples=shown,
    )


PROGRESS_STATES = ("pending", "held", "sent", "dropped", "failed", "uncertain")


@dataclass
class Progress:
    campaign: Campaign
    counts: dict[str, int]  # pending / held / sent / dropped / failed / uncertain (+ sending, attention)
    by_reason: list[tuple[str, str, int]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def is_live(self) -> bool:
        return self.campaign.state in (Campaign.State.RUNNING, Campaign.State.PAUSED)


def campaign_progress(*, actor: AnyUser, campaign_id: int) -> Progress:
    """Counts by state for the live view: pending (due), held (the gate said later), sent, dropped,
    failed, uncertain; ``attention`` is what needs a person (missing data, no sender)."""
    access.require(actor, Capability.CAMPAIGN_MANAGE)
    campaign = Campaign.objects.get(pk=campaign_id)
    State = OutboxMessage.State
    rows = OutboxMessage.objects.filter(campaign_id=campaign_id).order_by()
    held_by_gate = Q(state=State.PENDING, gate_outcome=gate.Outcome.HOLD.value)
    totals = rows.aggregate(
        pending=Count("id", filter=Q(state=State.PENDING) & ~held_by_gate),
        held=Count("id", filter=held_by_gate),
        sending=Count("id", filter=Q(state=State.SENDING)),
        sent=Count("id", filter=Q(state=State.SENT)),
        dropped=Count("id", filter=Q(state=State.DROPPED)),
        failed=Count("id", filter=Q(state=State.FAILED)),
        uncertain=Count("id", filter=Q(state=State.UNCERTAIN)),
        attention=Count("id", filter=Q(state=State.HELD)),
    )
    reasons: Counter[str] = Counter()
    for reason_list in (
        rows.filter(state__in=(State.PENDING, State.DROPPED, State.HELD))
        .exclude(gate_reasons=[])
        .values_list("gate_reasons", flat=True)
        .iterator()
    ):
        reasons.update({reason["code"] for reason in reason_list})
    return Progress(
        campaign=campaign,
        counts={key: int(value or 0) for key, value in totals.items()},
        by_reason=[(code, reason_label(code), n) for code, n in reasons.most_common()],
    )


def campaign_list(*, actor: AnyUser) -> list[tuple[Campaign, int]]:
    """Every campaign, newest first, with how many of its messages went out."""
    access.require(actor, Capability.CAMPAIGN_MANAGE)
    campaigns = Campaign.objects.annotate(
        sent=Count("messages", filter=Q(messages__state=OutboxMessage.State.SENT))
    ).order_by("-created_at", "-id")
    return [(c, c.sent) for c in campaigns[:200]]
