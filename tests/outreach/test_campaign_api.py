"""The campaign screen's actions over the API: preview, resume after the brake, cancel (C3, S12)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import Campaign, OutboxMessage
from regard.outreach.sender import SmtpSender
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, unique
from tests.outreach.helpers import enqueue_for, running_campaign, subscriber
from tests.outreach.test_campaign_screen import midday_zone

pytestmark = pytest.mark.django_db


def test_preview_over_the_api_counts_by_outcome_and_reason_with_names_masked(api_for: Any) -> None:
    zone = midday_zone(timezone.now())
    reader, _ = subscriber(time_zone=zone, preferred_name="Zofia", formality="informal")
    silent = make_customer(time_zone=zone, identifiers=[("email", f"s{unique()}@example.org")])
    marketer = api_for(Role.MARKETER)
    created = marketer.post(
        "campaigns",
        {
            "name": "API preview",
            "purpose": "newsletter",
            "subject": "Hi",
            "body": "{{ greeting }}",
            "audience": {"customer_ids": [reader.pk, silent.pk]},
        },
    ).json()
    body = marketer.get(f"campaigns/{created['id']}/preview").json()
    assert body["matched"] == 2
    assert body["counts_by_outcome"] == {"allow": 1, "hold": 0, "drop": 1}
    assert body["counts_by_reason"] == {"no_consent": 1}
    assert [s["body"] for s in body["samples"]] == ["Hi Z•••\n"]
    assert body["samples"][0]["customer_id"] is None
    assert api_for(Role.AGENT).get(f"campaigns/{created['id']}/preview").status_code == 403
    assert marketer.get("campaigns/999999/preview").status_code == 404


def test_resume_over_the_api_needs_the_reason_and_the_brake_trips_again(
    api_for: Any, smtp_server: Any, sender: SmtpSender
) -> None:
    campaign = running_campaign(planned_count=1)
    for _ in range(2):
        enqueue_for(campaign, subscriber(time_zone=midday_zone(timezone.now()))[0])
    dispatch_batch(sender=sender)
    campaign.refresh_from_db()
    marketer = api_for(Role.MARKETER)
    refused = marketer.post(f"campaigns/{campaign.pk}/resume", {"acknowledged": "whatever"})
    assert refused.status_code == 422
    assert refused.json()["field"] == "acknowledged"
    assert marketer.post(f"campaigns/{campaign.pk}/resume", {}).json()["field"] == "acknowledged"
    resumed = marketer.post(f"campaigns/{campaign.pk}/resume", {"acknowledged": campaign.brake_reason})
    assert resumed.status_code == 200
    assert resumed.json()["state"] == "running"
    dispatch_batch(sender=sender)
    assert marketer.get(f"campaigns/{campaign.pk}").json()["state"] == "paused"
    assert smtp_server[0].received == []


def test_cancel_over_the_api_drops_the_rest_and_cannot_repeat(api_for: Any) -> None:
    campaign = running_campaign()
    enqueue_for(campaign, subscriber()[0])
    marketer = api_for(Role.MARKETER)
    cancelled = marketer.post(f"campaigns/{campaign.pk}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["counts_by_reason"] == {"cancelled": 1}
    again = marketer.post(f"campaigns/{campaign.pk}/cancel")
    assert (again.status_code, again.json()["field"]) == (422, "state")
    assert set(OutboxMessage.objects.filter(campaign=campaign).values_list("state", flat=True)) == {"dropped"}
    assert Campaign.objects.get(pk=campaign.pk).state == Campaign.State.CANCELLED
