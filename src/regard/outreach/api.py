"""Campaigns and service messages over HTTP (C3). Thin: services decide, the gate decides who."""

from __future__ import annotations

from typing import Any

from ninja import Field, Router, Schema, Status

from regard.api.auth import ApiRequest, requires
from regard.customers.selectors import customer_get
from regard.outreach import preview, selectors, services
from regard.outreach.models import Campaign
from regard.outreach.schemas import CampaignIn
from regard.privacy.roles import Capability

campaigns_router = Router(tags=["campaigns"])
messages_router = Router(tags=["messages"])


class CampaignOut(Schema):
    id: int
    name: str
    purpose: str
    state: str
    planned_count: int
    brake_reason: str
    counts_by_state: dict[str, int]
    counts_by_reason: dict[str, int]
    uncertain: int


def _campaign_out(campaign: Campaign) -> CampaignOut:
    counts = selectors.campaign_counts(campaign)
    return CampaignOut(
        id=campaign.pk,
        name=campaign.name,
        purpose=campaign.purpose,
        state=campaign.state,
        planned_count=campaign.planned_count,
        brake_reason=campaign.brake_reason,
        counts_by_state=counts.by_state,
        counts_by_reason=counts.by_reason,
        uncertain=counts.uncertain,
    )


@campaigns_router.post(
    "",
    auth=requires(Capability.CAMPAIGN_MANAGE),
    response={201: CampaignOut},
    summary="Create a campaign (a draft)",
)
def create_campaign(request: ApiRequest, payload: CampaignIn) -> Status[CampaignOut]:
    campaign = services.campaign_create(actor=request.auth, **payload.model_dump())
    return Status(201, _campaign_out(campaign))


@campaigns_router.post(
    "/{campaign_id}/launch",
    auth=requires(Capability.CAMPAIGN_MANAGE),
    response=CampaignOut,
    summary="Plan the campaign's messages",
)
def launch_campaign(request: ApiRequest, campaign_id: int) -> CampaignOut:
    campaign = selectors.campaign_get(actor=request.auth, campaign_id=campaign_id)
    services.campaign_launch(actor=request.auth, campaign=campaign)
    return _campaign_out(selectors.campaign_get(actor=request.auth, campaign_id=campaign_id))


@campaigns_router.get(
    "/{campaign_id}",
    auth=requires(Capability.CAMPAIGN_MANAGE),
    response=CampaignOut,
    summary="Counts by state and by gate reason",
)
def get_campaign(request: ApiRequest, campaign_id: int) -> CampaignOut:
    return _campaign_out(selectors.campaign_get(actor=request.auth, campaign_id=campaign_id))


class SampleOut(Schema):
    subject: str
    body: str
    outcome: str
    is_masked: bool
    customer_id: int | None


class PreviewOut(Schema):
    matched: int
    evaluated: int
    is_estimate: bool
    counts_by_outcome: dict[str, int]
    counts_by_reason: dict[str, int]
    samples: list[SampleOut]


@campaigns_router.get(
    "/{campaign_id}/preview",
    auth=requires(Capability.CAMPAIGN_MANAGE),
    response=PreviewOut,
    summary="What the gate would do with the audience right now, by outcome and reason",
)
def preview_campaign(request: ApiRequest, campaign_id: int) -> PreviewOut:
    campaign = selectors.campaign_get(actor=request.auth, campaign_id=campaign_id)
    result = preview.campaign_preview(actor=request.auth, campaign=campaign, via="api")
    return PreviewOut(
        matched=result.matched,
        evaluated=result.evaluated,
        is_estimate=result.is_estimate,
        counts_by_outcome=result.by_outcome,
        counts_by_reason={code: count for code, _, count in result.by_reason},
        samples=[SampleOut(**vars(sample)) for sample in result.samples],
    )


class ResumeIn(Schema):
    acknowledged: str = Field(description="The brake's reason exactly as shown: resuming blind is refused.")


@campaigns_router.post(
    "/{campaign_id}/resume",
    auth=requires(Capability.CAMPAIGN_MANAGE),
    response=CampaignOut,
    summary="Resume a paused campaign once its brake reason is acknowledged",
)
def resume_campaign(request: ApiRequest, campaign_id: int, payload: ResumeIn) -> CampaignOut:
    campaign = selectors.campaign_get(actor=request.auth, campaign_id=campaign_id)
    services.campaign_resume(
        actor=request.auth, campaign=campaign, acknowledged=payload.acknowledged, via="api"
    )
    return _campaign_out(selectors.campaign_get(actor=request.auth, campaign_id=campaign_id))


@campaigns_router.post(
    "/{campaign_id}/cancel",
    auth=requires(Capability.CAMPAIGN_MANAGE),
    response=CampaignOut,
    summary="Cancel a campaign: what has not gone out is dropped",
)
def cancel_campaign(request: ApiRequest, campaign_id: int) -> CampaignOut:
    campaign = selectors.campaign_get(actor=request.auth, campaign_id=campaign_id)
    services.campaign_cancel(actor=request.auth, campaign=campaign, via="api")
    return _campaign_out(selectors.campaign_get(actor=request.auth, campaign_id=campaign_id))


class MessageIn(Schema):
    customer_id: int
    subject: str
    body: str
    dedupe_key: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)


class MessageOut(Schema):
    id: int
    dedupe_key: str
    state: str
    created: bool


@messages_router.post(
    "",
    auth=requires(Capability.MESSAGE_SEND),
    response={202: MessageOut},
    summary="Send a service message through the gate",
)
def send_message(request: ApiRequest, payload: MessageIn) -> Status[MessageOut]:
    customer = customer_get(
        actor=request.auth,
        customer_id=payload.customer_id,
        capability=Capability.MESSAGE_SEND,
        audit_as=None,  # service_message_send audits the message it queues
        field="customer_id",
    )
    row, created = services.service_message_send(
        actor=request.auth,
        customer=customer,
        subject=payload.subject,
        body=payload.body,
        dedupe_key=payload.dedupe_key,
        context=payload.context,
    )
    return Status(202, MessageOut(id=row.pk, dedupe_key=row.dedupe_key, state=row.state, created=created))
