"""The campaign screen (C3): draft, audience preview with the gate's reasons, launch, progress, brake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone

from regard.consent import services as consent_services
from regard.outreach import preview, services
from regard.outreach import urls as outreach_urls
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import Campaign, OutboxMessage
from regard.outreach.sender import SmtpSender
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, unique
from tests.outreach.helpers import enqueue_for, running_campaign, subscriber

pytestmark = pytest.mark.django_db
State = OutboxMessage.State


def midday_zone(now: datetime) -> str:
    """A zone where it is around noon at ``now``: far from quiet hours whenever the test runs."""
    offset = (12 - now.hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"


def signed_in(make_user: Any, *roles: Role) -> Client:
    client = Client()
    client.force_login(make_user(*roles))
    return client


def form(**changes: str) -> dict[str, str]:
    return {
        "name": "Spring letter",
        "purpose": "newsletter",
        "channel": "email",
        "subject": "News for {{ greeting }}",
        "body": "{{ greeting }},\n\nHere is what is new.",
        "topics": "spring, audio",
        "audience": "{}",
        "scheduled_at": "",
    } | changes


def campaign_urls(campaign_id: int) -> list[tuple[str, str]]:
    """Every page of the campaign screen with its method, so a page added later is checked too."""
    urls = []
    for pattern in outreach_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        kwargs = dict.fromkeys(pattern.pattern.converters, campaign_id)
        method = (
            "post" if pattern.name in {"campaign_launch", "campaign_resume", "campaign_cancel"} else "get"
        )
        urls.append((method, reverse(f"outreach:{pattern.name}", kwargs=kwargs)))
    return urls


def test_only_marketers_and_admins_reach_the_campaign_screen(make_user: Any) -> None:
    campaign = running_campaign()
    outsiders = {role: signed_in(make_user, role) for role in (Role.AGENT, Role.ANALYST, Role.PARTNER)}
    for method, url in campaign_urls(campaign.pk):
        assert getattr(Client(), method)(url).status_code == 302, url
        for role, client in outsiders.items():
            assert getattr(client, method)(url).status_code == 403, (url, role)
    marketer = signed_in(make_user, Role.MARKETER)
    page = marketer.get(reverse("outreach:campaigns"))
    assert page.status_code == 200
    assert campaign.name in page.content.decode()
    assert b'href="/campaigns/"' in page.content  # the navigation links the screen


def test_a_marketer_creates_and_edits_a_draft(make_user: Any) -> None:
    marketer = signed_in(make_user, Role.MARKETER)
    response = marketer.post(reverse("outreach:campaign_new"), form(audience='{"countries": ["DE"]}'))
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="Spring letter")
    assert (campaign.state, campaign.audience, campaign.topics) == (
        "draft",
        {"countries": ["DE"]},
        ["audio", "spring"],
    )
    edited = marketer.post(
        reverse("outreach:campaign_edit", args=[campaign.pk]),
        form(name="Spring letter, final", channel="email", scheduled_at="2099-05-01T09:00"),
    )
    assert edited.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Spring letter, final"
    assert campaign.scheduled_at == datetime(2099, 5, 1, 9, 0, tzinfo=UTC)
    assert AuditEntry.objects.filter(object_type="campaign", object_id=str(campaign.pk)).count() == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"audience": "{countries: DE"}, "audience"),
        ({"audience": '{"zodiac": ["leo"]}'}, "audience.zodiac"),
        ({"audience": '{"ordered_within_days": "soon"}'}, "audience.ordered_within_days"),
        ({"scheduled_at": "next tuesday"}, "scheduled_at"),
        ({"scheduled_at": "2001-01-01T10:00"}, "scheduled_at"),
        ({"purpose": "solar"}, "purpose"),
        ({"channel": "pigeon"}, "channel"),
        ({"body": "{% if %}"}, "body"),
        ({"name": "  "}, "name"),
    ],
)
def test_a_bad_form_names_the_field_and_changes_nothing(
    make_user: Any, changes: dict[str, str], field: str
) -> None:
    marketer = signed_in(make_user, Role.MARKETER)
    draft = services.campaign_create(actor=None, name="Kept", purpose="newsletter", subject="s", body="b")
    for url in (reverse("outreach:campaign_new"), reverse("outreach:campaign_edit", args=[draft.pk])):
        response = marketer.post(url, form(**changes))
        assert response.status_code == 422, url
        assert f'data-field="{field}"' in response.content.decode()
    assert list(Campaign.objects.values_list("name", flat=True)) == ["Kept"]


def _audience(now: datetime) -> dict[str, Any]:
    zone = midday_zone(now)
    allowed, _ = subscriber(time_zone=zone, preferred_name="Wilhelmina", formality="informal")
    never_asked = make_customer(time_zone=zone, identifiers=[("email", f"n{unique()}@example.org")])
    paused, _ = subscriber(time_zone=zone)
    consent_services.preferences_set(actor=None, customer=paused, paused_until=now + timedelta(days=3))
    suppressed, address = subscriber(time_zone=zone)
    consent_services.suppression_add(actor=None, kind="email", normalised_value=address, reason="manual")
    return {"allowed": allowed, "never_asked": never_asked, "paused": paused, "suppressed": suppressed}


def test_the_preview_counts_what_the_gate_would_do_and_why(make_user: Any) -> None:
    now = timezone.now()
    people = _audience(now)
    campaign = services.campaign_create(
        actor=None,
        name="Preview",
        purpose="newsletter",
        subject="Hello",
        body="{{ greeting }}, this is new.",
        audience={"customer_ids": [c.pk for c in people.values()]},
    )
    result = preview.campaign_preview(actor=make_user(Role.MARKETER), campaign=campaign, now=now)
    assert result.matched == 4
    assert result.by_outcome == {"allow": 1, "hold": 1, "drop": 2}
    reasons = {code: n for code, _, n in result.by_reason}
    assert reasons == {"no_consent": 1, "suppressed": 1, "paused": 1}
    assert not OutboxMessage.objects.filter(campaign=campaign).exists()  # a preview plans nothing


def test_a_template_that_needs_missing_data_is_counted_as_held(make_user: Any) -> None:
    now = timezone.now()
    zone = midday_zone(now)
    with_name, _ = subscriber(time_zone=zone, preferred_name="Ola")
    without, _ = subscriber(time_zone=zone, preferred_name="")
    campaign = services.campaign_create(
        actor=None,
        name="Named",
        purpose="newsletter",
        subject="Hello",
        body="Dear {{ preferred_name }}",
        audience={"customer_ids": [with_name.pk, without.pk]},
    )
    result = preview.campaign_preview(actor=make_user(Role.MARKETER), campaign=campaign, now=now)
    assert result.by_outcome == {"allow": 1, "hold": 1, "drop": 0}
    assert [code for code, _, _ in result.by_reason] == ["missing_data"]


def test_marketers_see_samples_with_names_masked_and_readers_see_them_audited(
    make_user: Any,
) -> None:
    now = timezone.now()
    people = _audience(now)
    campaign = services.campaign_create(
        actor=None,
        name="Samples",
        purpose="newsletter",
        subject="For {{ greeting }}",
        body="{{ greeting }}, this is new.",
        audience={"customer_ids": [people["allowed"].pk]},
    )
    page = signed_in(make_user, Role.MARKETER).get(reverse("outreach:campaign_preview", args=[campaign.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Wilhelmina" not in text
    assert "Hi W•••" in text
    assert not AuditEntry.objects.filter(object_type="campaign_preview").exists()
    admin_page = signed_in(make_user, Role.ADMIN).get(
        reverse("outreach:campaign_preview", args=[campaign.pk])
    )
    assert "Hi Wilhelmina" in admin_page.content.decode()
    audit = AuditEntry.objects.get(object_type="campaign_preview")
    assert audit.customer_id == people["allowed"].pk


def test_launch_asks_for_confirmation_then_plans_and_shows_progress(
    make_user: Any, smtp_server: Any, sender: SmtpSender
) -> None:
    now = timezone.now()
    people = _audience(now)
    campaign = services.campaign_create(
        actor=None,
        name="Launch me",
        purpose="newsletter",
        subject="Hello",
        body="{{ greeting }}",
        audience={"customer_ids": [c.pk for c in people.values()]},
    )
    marketer = signed_in(make_user, Role.MARKETER)
    confirm = marketer.post(reverse("outreach:campaign_launch", args=[campaign.pk]))
    assert confirm.status_code == 200
    assert "Yes, launch to 4" in confirm.content.decode()
    assert not OutboxMessage.objects.filter(campaign=campaign).exists()
    launched = marketer.post(reverse("outreach:campaign_launch", args=[campaign.pk]), {"confirm": "yes"})
    assert launched.status_code == 302
    progress_url = reverse("outreach:campaign_progress", args=[campaign.pk])
    before = marketer.get(progress_url).content.decode()
    assert 'data-testid="count-pending">4<' in before
    assert 'hx-trigger="every 2s"' in before
    dispatch_batch(sender=sender)
    after = marketer.get(progress_url).content.decode()
    assert 'data-testid="count-sent">1<' in after
    assert 'data-testid="count-dropped">2<' in after
    assert 'data-testid="count-held">1<' in after
    assert "paused by the customer" in after


def _runaway(planned: int = 1) -> tuple[Campaign, Any]:
    """A campaign planned for one person that finds two of its messages due (S12)."""
    campaign = running_campaign(planned_count=planned)
    for _ in range(2):
        customer, _ = subscriber(time_zone=midday_zone(timezone.now()))
        enqueue_for(campaign, customer)
    return campaign, customer


def test_the_brake_shows_its_reason_and_resume_needs_it_acknowledged(
    make_user: Any, smtp_server: Any, sender: SmtpSender
) -> None:
    campaign, _ = _runaway()
    dispatch_batch(sender=sender)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    marketer = signed_in(make_user, Role.MARKETER)
    page = marketer.get(reverse("outreach:campaign", args=[campaign.pk])).content.decode()
    assert 'data-testid="brake"' in page
    assert "exceed the planned audience of 1" in page
    blind = marketer.post(reverse("outreach:campaign_resume", args=[campaign.pk]), {"acknowledged": ""})
    assert blind.status_code == 422
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    ok = marketer.post(
        reverse("outreach:campaign_resume", args=[campaign.pk]), {"acknowledged": campaign.brake_reason}
    )
    assert ok.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.state, campaign.brake_reason) == (Campaign.State.RUNNING, "")
    assert AuditEntry.objects.filter(object_type="campaign", detail__resumed=True).exists()


def test_a_resumed_campaign_brakes_again_while_the_cause_persists(
    smtp_server: Any, sender: SmtpSender
) -> None:
    recorder, _ = smtp_server
    campaign, _ = _runaway()
    dispatch_batch(sender=sender)
    campaign.refresh_from_db()
    reason = campaign.brake_reason
    services.campaign_resume(actor=None, campaign=campaign, acknowledged=reason)
    dispatch_batch(sender=sender)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    assert campaign.brake_reason == reason
    assert recorder.received == []


def test_a_resumed_campaign_sends_once_the_cause_is_gone(smtp_server: Any, sender: SmtpSender) -> None:
    recorder, _ = smtp_server
    campaign, _ = _runaway()
    dispatch_batch(sender=sender)
    campaign.refresh_from_db()
    Campaign.objects.filter(pk=campaign.pk).update(planned_count=2)  # the plan was wrong, not the sending
    services.campaign_resume(actor=None, campaign=campaign, acknowledged=campaign.brake_reason)
    dispatch_batch(sender=sender)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.RUNNING
    assert len(recorder.received) == 2


def test_cancel_drops_what_has_not_gone_out(make_user: Any) -> None:
    campaign, _ = _runaway(planned=2)
    marketer = signed_in(make_user, Role.MARKETER)
    unconfirmed = marketer.post(reverse("outreach:campaign_cancel", args=[campaign.pk]))
    assert unconfirmed.status_code == 422
    assert (
        marketer.post(reverse("outreach:campaign_cancel", args=[campaign.pk]), {"confirm": "yes"}).status_code
        == 302
    )
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.CANCELLED
    assert set(campaign.messages.values_list("state", flat=True)) == {State.DROPPED}
    assert (
        marketer.post(reverse("outreach:campaign_cancel", args=[campaign.pk]), {"confirm": "yes"}).status_code
        == 422
    )


def test_the_preview_says_when_no_sender_exists_for_the_channel(make_user: Any) -> None:
    customer = make_customer(
        time_zone=midday_zone(timezone.now()), identifiers=[("phone", f"+49151{unique():08d}")]
    )
    consent_services.consent_grant(
        actor=None, customer=customer, purpose="newsletter", channel="sms", source="form", proof={}
    )
    campaign = services.campaign_create(
        actor=None,
        name="By text",
        purpose="newsletter",
        channel="sms",
        subject="s",
        body="{{ greeting }}",
        audience={"customer_ids": [customer.pk]},
    )
    result = preview.campaign_preview(actor=make_user(Role.MARKETER), campaign=campaign)
    assert result.by_outcome["hold"] == 1
    assert "no_sender" in [code for code, _, _ in result.by_reason]
