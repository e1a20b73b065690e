"""Writes of the outreach app: everything that will be sent becomes one outbox row first."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict, Unpack

from django.db import IntegrityError, transaction
from django.utils import timezone

from regard.consent.services import clean_channel, clean_purpose, clean_topics
from regard.customers.models import Customer
from regard.customers.services import Actor
from regard.db import bulk
from regard.errors import InvalidInput
from regard.outreach.audience import audience_clean, audience_queryset
from regard.outreach.dispatcher import dispatch_due
from regard.outreach.models import Campaign, OutboxMessage
from regard.outreach.planning import CHUNK, audience_chunks
from regard.outreach.render import validate_template
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record


def dispatch_soon() -> None:
    """Wake a worker after commit; the dispatcher loop would find the rows anyway."""
    transaction.on_commit(lambda: dispatch_due.enqueue())


def outbox_enqueue(
    *,
    customer: Customer,
    kind: str,
    purpose: str,
    dedupe_key: str,
    channel: str = "email",
    subject: str = "",
    body: str = "",
    context: Mapping[str, Any] | None = None,
    topics: Sequence[str] = (),
    content_key: str | None = None,
    campaign: Campaign | None = None,
    journey: str = "",
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[OutboxMessage, bool]:
    """Add one message to the outbox. The same dedupe key twice is one message (invariant 3)."""
    now = now or timezone.now()
    if not dedupe_key or len(dedupe_key) > 200:
        raise InvalidInput("dedupe_key: 1–200 characters.", field="dedupe_key")
    if kind not in OutboxMessage.Kind.values:
        raise InvalidInput(
            f"kind: '{kind}' is not one of {', '.join(OutboxMessage.Kind.values)}.", field="kind"
        )
    existing = OutboxMessage.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing, False
    if campaign is None:
        validate_template(subject, field="subject")
        validate_template(body, field="body")
    row = OutboxMessage(
        dedupe_key=dedupe_key,
        customer=customer,
        kind=kind,
        purpose=clean_purpose(purpose),
        channel=clean_channel(channel),
        subject=subject,
        body=body,
        context=dict(context or {}),
        topics=clean_topics(topics, field="topics"),
        content_key=content_key or dedupe_key,
        campaign=campaign,
        journey=journey,
        due_at=due_at or now,
        expires_at=expires_at,
        created_at=now,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return OutboxMessage.objects.get(dedupe_key=dedupe_key), False
    return row, True


@transaction.atomic
def service_message_send(
    *,
    actor: Actor,
    customer: Customer,
    subject: str,
    body: str,
    dedupe_key: str | None = None,
    context: Mapping[str, Any] | None = None,
    channel: str = "email",
    via: str = "api",
    now: datetime | None = None,
) -> tuple[OutboxMessage, bool]:
    """A receipt, a reply, a notice: no marketing consent needed, but through the same gate."""
    now = now or timezone.now()
    if dedupe_key is None:
        digest = hashlib.sha256(
            f"{customer.pk}\x00{subject}\x00{body}\x00{now.isoformat()}".encode()
        ).hexdigest()
        dedupe_key = f"service:{digest[:40]}"
    row, created = outbox_enqueue(
        customer=customer,
        kind=OutboxMessage.Kind.SERVICE,
        purpose="service",
        channel=channel,
        dedupe_key=dedupe_key,
        subject=subject,
        body=body,
        context=context,
        now=now,
    )
    if created:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            object_type="outbox_message",
            object_id=row.pk,
            customer_id=customer.pk,
            via=via,
            now=now,
        )
        dispatch_soon()
    return row, created


class CampaignContent(TypedDict):
    """What a campaign says and to whom: the same for a new draft and an edited one."""

    name: str
    purpose: str
    subject: str
    body: str
    audience: NotRequired[Mapping[str, Any] | None]
    topics: NotRequired[Sequence[str]]
    scheduled_at: NotRequired[datetime | None]
    channel: NotRequired[str]


def _campaign_fields(content: CampaignContent, *, now: datetime) -> dict[str, Any]:
    """A campaign's editable fields, checked; InvalidInput names the first bad one."""
    name, purpose, subject, body = content["name"], content["purpose"], content["subject"], content["body"]
    channel, scheduled_at = content.get("channel", "email"), content.get("scheduled_at")
    if not name.strip():
        raise InvalidInput("name: must not be empty.", field="name")
    if purpose in ("service",):
        raise InvalidInput(
            "purpose: campaigns are marketing; send service messages one by one.", field="purpose"
        )
    if scheduled_at is not None and (
        timezone.is_naive(scheduled_at) or scheduled_at < now - timedelta(minutes=5)
    ):
        raise InvalidInput(
            "scheduled_at: must be an aware time that is not in the past.", field="scheduled_at"
        )
    if not subject.strip():
        raise InvalidInput("subject: must not be empty.", field="subject")
    if not body.strip():
        raise InvalidInput("body: must not be empty.", field="body")
    validate_template(subject, field="subject")
    validate_template(body, field="body")
    return {
        "name": name.strip()[:200],
        "purpose": clean_purpose(purpose),
        "channel": clean_channel(channel),
        "subject": subject,
        "body": body,
        "audience": audience_clean(content.get("audience")),
        "topics": clean_topics(content.get("topics", ()), field="topics"),
        "scheduled_at": scheduled_at,
        "expires_at": (scheduled_at or now) + timedelta(days=7),
    }


@transaction.atomic
def campaign_create(
    *, actor: Actor, via: str = "api", now: datetime | None = None, **content: Unpack[CampaignContent]
) -> Campaign:
    now = now or timezone.now()
    campaign = Campaign.objects.create(**_campaign_fields(content, now=now), created_at=now)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        object_type="campaign",
        object_id=campaign.pk,
        via=via,
        now=now,
    )
    return campaign


@transaction.atomic
def campaign_update(
    *,
    actor: Actor,
    campaign: Campaign,
    via: str = "web",
    now: datetime | None = None,
    **content: Unpack[CampaignContent],
) -> Campaign:
    """Change a draft; once launched a campaign's content is what its messages were planned with."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state != Campaign.State.DRAFT:
        raise InvalidInput(f"state: campaign is {campaign.state}, only a draft can be edited.", field="state")
    fields = _campaign_fields(content, now=now)
    changed = sorted(key for key, value in fields.items() if getattr(campaign, key) != value)
    for key, value in fields.items():
        setattr(campaign, key, value)
    campaign.save(update_fields=list(fields))
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, object_type="campaign", object_id=campaign.pk, via=via, now=now, detail={"changed": changed})  # fmt: skip
    return campaign


@transaction.atomic
def campaign_resume(
    *, actor: Actor, campaign: Campaign, acknowledged: str, via: str = "web", now: datetime | None = None
) -> Campaign:
    """Let a paused campaign send again, once a person has read why it stopped (S12).

    ``acknowledged`` must repeat the brake's reason as shown: resuming blind is refused. The
    brake keeps watching; if the cause persists it trips again on the next batch.
    """
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state != Campaign.State.PAUSED:
        raise InvalidInput(
            f"state: campaign is {campaign.state}, only a paused one can resume.", field="state"
        )
    if campaign.brake_reason and acknowledged.strip() != campaign.brake_reason:
        raise InvalidInput(
            "acknowledged: confirm the reason the campaign was paused before resuming it.",
            field="acknowledged",
        )
    reason = campaign.brake_reason
    campaign.state, campaign.brake_reason = Campaign.State.RUNNING, ""
    campaign.save(update_fields=["state", "brake_reason"])
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, object_type="campaign", object_id=campaign.pk, via=via, now=now, detail={"resumed": True, "acknowledged": reason})  # fmt: skip
    dispatch_soon()
    return campaign


@transaction.atomic
def campaign_cancel(
    *, actor: Actor, campaign: Campaign, via: str = "web", now: datetime | None = None
) -> int:
    """Stop a campaign for good: messages not yet handed over are dropped; answers how many."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state in (Campaign.State.DONE, Campaign.State.CANCELLED):
        raise InvalidInput(f"state: campaign is {campaign.state} already.", field="state")
    dropped = OutboxMessage.objects.filter(campaign=campaign, state=OutboxMessage.State.PENDING).update(
        state=OutboxMessage.State.DROPPED,
        gate_outcome="drop",
        gate_reasons=[{"code": "cancelled", "detail": "the campaign was cancelled"}],
    )
    campaign.state = Campaign.State.CANCELLED
    campaign.save(update_fields=["state"])
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, object_type="campaign", object_id=campaign.pk, via=via, now=now, detail={"cancelled": True, "dropped": dropped})  # fmt: skip
    return dropped


# Audience members planned per statement: memory stays flat however large the audience. The
# size is planning's, named here as the launch's own knob.
PLAN_CHUNK = CHUNK


def _plan_rows(campaign: Campaign, customer_ids: list[int], *, due: datetime, now: datetime) -> None:
    """One pending outbox row per customer; a row that exists already (same dedupe key) is kept."""
    template = OutboxMessage(
        dedupe_key="",
        customer_id=0,
        kind=OutboxMessage.Kind.MARKETING,
        purpose=campaign.purpose,
        channel=campaign.channel,
        campaign=campaign,
        topics=campaign.topics,
        content_key=f"campaign:{campaign.pk}",
        due_at=due,
        expires_at=campaign.expires_at,
        created_at=now,
    )
    # PostgreSQL makes the rows itself from the ids (regard.db.bulk).
    bulk.insert_per_key(
        template,
        field="customer_id",
        keys=customer_ids,
        unique="dedupe_key",
        prefixed={"dedupe_key": f"campaign:{campaign.pk}:customer:"},
    )


@transaction.atomic
def campaign_launch(
    *, actor: Actor, campaign: Campaign, via: str = "api", now: datetime | None = None
) -> int:
    """Plan one outbox row per audience member; the gate decides at send time, per message."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state != Campaign.State.DRAFT:
        raise InvalidInput(
            f"state: campaign is {campaign.state}, only a draft can be launched.", field="state"
        )
    due = campaign.scheduled_at or now
    planned = 0
    for ids in audience_chunks(audience_queryset(campaign.audience), size=PLAN_CHUNK):
        _plan_rows(campaign, ids, due=due, now=now)
        planned += len(ids)
    campaign.state, campaign.launched_at, campaign.planned_count = Campaign.State.RUNNING, now, planned
    campaign.save(update_fields=["state", "launched_at", "planned_count"])
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, object_type="campaign", object_id=campaign.pk, via=via, now=now,
        detail={"launched": planned},
    )  # fmt: skip
    dispatch_soon()
    return planned
