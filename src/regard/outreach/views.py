"""The campaign screen (C3): list, draft, audience preview, launch, live progress, brake, resume, cancel.

Thin: services write, ``outreach.preview`` reads, the gate decides. A form error re-renders the
form with the field named (422) and changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from regard.api.errors import schema_parse
from regard.consent.models import Channel
from regard.errors import InvalidInput
from regard.outreach import preview, selectors, services
from regard.outreach.models import Campaign
from regard.outreach.schemas import CampaignIn
from regard.privacy.roles import Capability
from regard.web.access import requires

EXAMPLE_AUDIENCE = '{"languages": ["de"], "has_consent": {"purpose": "newsletter"}}'


def _purposes() -> list[str]:
    return [p for p in settings.REGARD_CONSENT_PURPOSES if p != "service"]


def _form_values(campaign: Campaign | None) -> dict[str, str]:
    if campaign is None:
        return {
            "name": "",
            "purpose": "newsletter",
            "channel": "email",
            "subject": "",
            "body": "{{ greeting }},\n\n",
            "topics": "",
            "audience": "{}",
            "scheduled_at": "",
        }
    return {
        "name": campaign.name,
        "purpose": campaign.purpose,
        "channel": campaign.channel,
        "subject": campaign.subject,
        "body": campaign.body,
        "topics": ", ".join(campaign.topics),
        "audience": json.dumps(campaign.audience, indent=1, ensure_ascii=False),
        "scheduled_at": campaign.scheduled_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
        if campaign.scheduled_at
        else "",
    }


def _parse(values: dict[str, str]) -> CampaignIn:
    """Form text through the API's CampaignIn; InvalidInput names the field that does not parse."""
    try:
        audience = json.loads(values["audience"] or "{}")
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"audience: not valid JSON ({error.msg}, line {error.lineno}).", field="audience"
        ) from None
    topics = [t.strip() for t in values["topics"].replace(";", ",").split(",") if t.strip()]
    scheduled = values["scheduled_at"].strip() or None
    parsed = schema_parse(
        CampaignIn, {**values, "audience": audience, "topics": topics, "scheduled_at": scheduled}
    )
    if parsed.scheduled_at is not None and parsed.scheduled_at.tzinfo is None:
        parsed.scheduled_at = parsed.scheduled_at.replace(tzinfo=UTC)  # the form says the time is UTC
    return parsed


def _form_page(
    request: HttpRequest,
    *,
    campaign: Campaign | None,
    values: dict[str, str],
    error: InvalidInput | None = None,
) -> HttpResponse:
    return render(
        request,
        "outreach/campaign_form.html",
        {
            "campaign": campaign,
            "values": values,
            "error": error,
            "purposes": _purposes(),
            "channels": Channel.values,
            "example_audience": EXAMPLE_AUDIENCE,
        },
        status=error.http_status if error else 200,
    )


@requires(Capability.CAMPAIGN_MANAGE)
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "outreach/campaign_list.html", {"rows": preview.campaign_list(actor=request.user)})


@requires(Capability.CAMPAIGN_MANAGE)
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _form_page(request, campaign=None, values=_form_values(None))
    values = {key: request.POST.get(key, "") for key in _form_values(None)}
    try:
        campaign = services.campaign_create(actor=request.user, via="web", **_parse(values).model_dump())
    except InvalidInput as error:
        return _form_page(request, campaign=None, values=values, error=error)
    return redirect("outreach:campaign", campaign_id=campaign.pk)


@requires(Capability.CAMPAIGN_MANAGE)
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
    if request.method == "GET":
        return _form_page(request, campaign=campaign, values=_form_values(campaign))
    values = {key: request.POST.get(key, "") for key in _form_values(None)}
    try:
        services.campaign_update(
            actor=request.user, campaign=campaign, via="web", **_parse(values).model_dump()
        )
    except InvalidInput as error:
        return _form_page(request, campaign=campaign, values=values, error=error)
    return redirect("outreach:campaign", campaign_id=campaign.pk)


@requires(Capability.CAMPAIGN_MANAGE)
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
    progress = None
    if campaign.state != Campaign.State.DRAFT:
        progress = preview.campaign_progress(actor=request.user, campaign_id=campaign.pk)
    return render(
        request,
        "outreach/campaign_detail.html",
        {
            "campaign": campaign,
            "progress": progress,
            "audience_json": json.dumps(campaign.audience, ensure_ascii=False),
        },
    )


@requires(Capability.CAMPAIGN_MANAGE)
def campaign_preview(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
    result = preview.campaign_preview(actor=request.user, campaign=campaign)
    return render(request, "outreach/_preview.html", {"campaign": campaign, "preview": result})


@requires(Capability.CAMPAIGN_MANAGE)
def campaign_progress(request: HttpRequest, campaign_id: int) -> HttpResponse:
    selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
    progress = preview.campaign_progress(actor=request.user, campaign_id=campaign_id)
    return render(request, "outreach/_progress.html", {"campaign": progress.campaign, "progress": progress})


@requires(Capability.CAMPAIGN_MANAGE)
@require_POST
def campaign_launch(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """First press: a confirmation naming the audience; second press (confirm=yes): launch."""
    campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
    if request.POST.get("confirm") != "yes":
        result = preview.campaign_preview(actor=request.user, campaign=campaign, samples=0)
        return render(request, "outreach/campaign_confirm.html", {"campaign": campaign, "preview": result})
    services.campaign_launch(actor=request.user, campaign=campaign, via="web")
    return redirect("outreach:campaign", campaign_id=campaign.pk)


@requires(Capability.CAMPAIGN_MANAGE)
@require_POST
def campaign_resume(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
    services.campaign_resume(
        actor=request.user, campaign=campaign, acknowledged=request.POST.get("acknowledged", ""), via="web"
    )
    return redirect("outreach:campaign", campaign_id=campaign.pk)


@requires(Capability.CAMPAIGN_MANAGE)
@require_POST
def campaign_cancel(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
    if request.POST.get("confirm") != "yes":
        raise InvalidInput("confirm: tick the box to cancel the campaign for good.", field="confirm")
    services.campaign_cancel(actor=request.user, campaign=campaign, via="web")
    return redirect("outreach:campaign", campaign_id=campaign.pk)
