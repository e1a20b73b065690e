"""The anomaly brake (S12): a campaign or journey that behaves like a runaway pauses itself.

Checked in the dispatcher's claim transaction, before anything in the batch is sent:
- any recipient would get a second copy of the same campaign (or journey step);
- the number sent would exceed the campaign's planned audience;
- the complaint rate passes ``REGARD_BRAKE_COMPLAINT_RATE`` (default 0.3%).
The paused campaign's rows stay pending and are not claimed until a person resumes it;
the reason is kept in ``brake_reason`` and shown by the API and the admin.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings

from regard.outreach.models import Campaign, InboundFeedback, Journey, OutboxMessage
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record

log = logging.getLogger(__name__)
State = OutboxMessage.State
# Handed to the relay, or possibly handed over: each counts as a copy the person got.
DELIVERED = (State.SENT, State.SENDING, State.UNCERTAIN)


def _complaints(**where: object) -> int:
    return InboundFeedback.objects.filter(
        kind=InboundFeedback.Kind.COMPLAINT, status=InboundFeedback.Status.APPLIED, **where
    ).count()


def _complaint_reason(*, sent: int, complaints: int) -> str | None:
    threshold = settings.REGARD_BRAKE_COMPLAINT_RATE
    if sent and complaints and complaints / sent > threshold:
        return (
            f"complaint rate {complaints / sent:.2%} ({complaints} of {sent} sent) "
            f"is above the {threshold:.2%} threshold"
        )
    return None


def _second_copies(rows: Sequence[OutboxMessage], **where: object) -> int | None:
    """A customer who would get this content twice: two rows in this batch, or one already out."""
    counted = Counter((r.customer_id, r.content_key) for r in rows)
    for (customer_id, _), number in counted.items():
        if number > 1:
            return customer_id
    delivered = (
        OutboxMessage.objects.filter(
            state__in=DELIVERED,
            customer_id__in={r.customer_id for r in rows},
            content_key__in={r.content_key for r in rows},
            **where,
        )
        .values_list("customer_id", flat=True)
        .first()
    )
    return delivered


def campaign_anomaly(campaign: Campaign, rows: Sequence[OutboxMessage]) -> str | None:
    """Why this batch of the campaign's rows must not go out, or None."""
    customer_id = _second_copies(rows, campaign=campaign)
    if customer_id is not None:
        return f"customer {customer_id} would get more than one copy of this campaign"
    sent = OutboxMessage.objects.filter(campaign=campaign, state__in=DELIVERED).count()
    # planned_count is set at launch; 0 means no audience was planned (rows added one by one).
    if campaign.planned_count and sent + len(rows) > campaign.planned_count:
        return f"{sent + len(rows)} messages would exceed the planned audience of {campaign.planned_count}"
    return _complaint_reason(sent=sent, complaints=_complaints(outbox_message__campaign=campaign))


def journey_anomaly(journey: Journey, rows: Sequence[OutboxMessage]) -> str | None:
    customer_id = _second_copies(rows, journey=journey.slug)
    if customer_id is not None:
        return f"customer {customer_id} would get the same journey step twice"
    sent = OutboxMessage.objects.filter(journey=journey.slug, state__in=DELIVERED).count()
    return _complaint_reason(sent=sent, complaints=_complaints(outbox_message__journey=journey.slug))


def brake_check(
    rows: list[OutboxMessage], campaigns: dict[int, Campaign], *, now: datetime
) -> list[OutboxMessage]:
    """Pause every campaign or journey in this batch that runs away; answer the rows that may proceed."""
    by_campaign: dict[int, list[OutboxMessage]] = defaultdict(list)
    by_journey: dict[str, list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        if row.campaign_id:
            by_campaign[row.campaign_id].append(row)
        elif row.journey:
            by_journey[row.journey].append(row)
    stopped_campaigns: set[int] = set()
    for campaign_id, campaign_rows in by_campaign.items():
        campaign = campaigns[campaign_id]
        reason = campaign_anomaly(campaign, campaign_rows)
        if reason is not None:
            campaign_brake(campaign=campaign, reason=reason, now=now)
            stopped_campaigns.add(campaign_id)
    stopped_journeys: set[str] = set()
    if by_journey:
        for journey in Journey.objects.filter(slug__in=by_journey):
            reason = journey_anomaly(journey, by_journey[journey.slug])
            if reason is not None:
                journey_brake(journey=journey, reason=reason, now=now)
                stopped_journeys.add(journey.slug)
    if not stopped_campaigns and not stopped_journeys:
        return rows
    return [r for r in rows if r.campaign_id not in stopped_campaigns and r.journey not in stopped_journeys]


def campaign_brake(*, campaign: Campaign, reason: str, now: datetime) -> None:
    reason = f"anomaly brake: {reason}"[:300]
    Campaign.objects.filter(pk=campaign.pk).update(state=Campaign.State.PAUSED, brake_reason=reason)
    campaign.state, campaign.brake_reason = Campaign.State.PAUSED, reason
    log.warning("campaign %s paused by the anomaly brake: %s", campaign.pk, reason)
    audit_record(actor=None, action=AuditEntry.Action.UPDATE, object_type="campaign", object_id=campaign.pk, via="system", now=now, detail={"brake": reason})  # fmt: skip


def journey_brake(*, journey: Journey, reason: str, now: datetime) -> None:
    reason = f"anomaly brake: {reason}"[:300]
    Journey.objects.filter(pk=journey.pk).update(is_active=False, brake_reason=reason)
    journey.is_active, journey.brake_reason = False, reason
    log.warning("journey %s paused by the anomaly brake: %s", journey.slug, reason)
    audit_record(actor=None, action=AuditEntry.Action.UPDATE, object_type="journey", object_id=journey.pk, via="system", now=now, detail={"brake": reason})  # fmt: skip
