"""The anomaly brake (S12): a runaway campaign or journey pauses itself before it harms anyone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from regard.outreach import events, feedback, journeys
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import Campaign, InboundFeedback, Journey, OutboxMessage
from regard.outreach.sender import SmtpSender
from regard.outreach.services import campaign_launch, outbox_enqueue
from regard.privacy.roles import Role
from tests.outreach.helpers import enqueue_for, running_campaign, subscriber
from tests.outreach.test_feedback import _arf

pytestmark = pytest.mark.django_db
State = OutboxMessage.State


def _copy(campaign: Campaign, customer, key: str) -> OutboxMessage:
    """What a haywire program does: the same campaign again under a new identity."""
    row, _ = outbox_enqueue(
        customer=customer,
        kind="marketing",
        purpose=campaign.purpose,
        dedupe_key=key,
        content_key=f"campaign:{campaign.pk}",
        campaign=campaign,
    )
    return row


def _complain(row: OutboxMessage) -> None:
    """The recipient presses "report spam": an ARF report reaches the feedback listener's code."""
    applied = feedback.feedback_receive(
        mail_from="feedback@mailbox-provider.example",
        rcpt_to="fbl@mail.regard.test",
        data=_arf(message_id=row.message_id),
    )
    assert (applied.kind, applied.status) == (InboundFeedback.Kind.COMPLAINT, InboundFeedback.Status.APPLIED)


def test_a_second_copy_for_one_recipient_pauses_the_campaign(smtp_server, sender: SmtpSender) -> None:
    """S12: 15,000 copies of one newsletter to one person become one, and the campaign stops."""
    recorder, _ = smtp_server
    campaign = running_campaign()
    customer, address = subscriber()
    other, other_address = subscriber()
    for number in range(50):
        _copy(campaign, customer, f"haywire:{number}")
    enqueue_for(campaign, other)
    dispatch_batch(sender=sender)
    dispatch_batch(sender=sender)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    assert "more than one copy" in campaign.brake_reason
    assert recorder.to(address) == []
    assert recorder.to(other_address) == []
    assert not OutboxMessage.objects.filter(campaign=campaign, state=State.SENT).exists()


def test_a_copy_after_one_was_sent_pauses_the_campaign(smtp_server, sender: SmtpSender) -> None:
    recorder, _ = smtp_server
    campaign = running_campaign()
    customer, address = subscriber()
    enqueue_for(campaign, customer)
    dispatch_batch(sender=sender)
    late = _copy(campaign, customer, "haywire:late")
    dispatch_batch(sender=sender)
    campaign.refresh_from_db()
    late.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    assert late.state == State.PENDING
    assert len(recorder.to(address)) == 1


def test_more_sent_than_the_planned_audience_pauses_the_campaign(smtp_server, sender: SmtpSender) -> None:
    recorder, _ = smtp_server
    planned = [subscriber()[0] for _ in range(3)]
    campaign = Campaign.objects.create(
        name="Planned", purpose="newsletter", subject="News", body="{{ greeting }}, news.",
        audience={"customer_ids": [c.pk for c in planned]}, created_at=timezone.now(),
    )  # fmt: skip
    assert campaign_launch(actor=None, campaign=campaign) == 3
    extra = [subscriber()[0] for _ in range(2)]
    for customer in extra:
        enqueue_for(campaign, customer)
    stats = dispatch_batch(sender=sender, limit=3)
    assert stats["sent"] == 3
    dispatch_batch(sender=sender)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    assert "planned audience of 3" in campaign.brake_reason
    assert len(recorder.received) == 3


def test_complaint_rate_above_threshold_pauses_the_campaign(settings, smtp_server, sender) -> None:
    recorder, _ = smtp_server
    settings.REGARD_BRAKE_COMPLAINT_RATE = 0.1
    campaign = running_campaign()
    customers = [subscriber()[0] for _ in range(12)]
    for customer in customers[:5]:
        enqueue_for(campaign, customer)
    dispatch_batch(sender=sender)
    sent = list(OutboxMessage.objects.filter(campaign=campaign, state=State.SENT))
    assert len(sent) == 5
    _complain(sent[0])
    for customer in customers[5:]:
        enqueue_for(campaign, customer)
    dispatch_batch(sender=sender)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED
    assert "complaint rate 20.00%" in campaign.brake_reason
    assert len(recorder.received) == 5
    assert OutboxMessage.objects.filter(campaign=campaign, state=State.PENDING).count() == 7


def test_complaint_rate_below_threshold_lets_the_campaign_run(settings, smtp_server, sender) -> None:
    recorder, _ = smtp_server
    settings.REGARD_BRAKE_COMPLAINT_RATE = 0.5
    campaign = running_campaign()
    customers = [subscriber()[0] for _ in range(4)]
    enqueue_for(campaign, customers[0])
    enqueue_for(campaign, customers[1])
    dispatch_batch(sender=sender)
    _complain(OutboxMessage.objects.filter(campaign=campaign, state=State.SENT).first())
    enqueue_for(campaign, customers[2])
    dispatch_batch(sender=sender)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.RUNNING
    assert len(recorder.received) == 3


def test_a_journey_step_twice_pauses_the_journey(smtp_server, sender: SmtpSender) -> None:
    recorder, _ = smtp_server
    customer, address = subscriber(purpose="offers")
    start = (timezone.now() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    events.event_record(actor=None, customer=customer, type="cart_abandoned", now=start)
    journey = Journey.objects.get(slug=journeys.ABANDONED_CART)
    first = OutboxMessage.objects.filter(journey=journey.slug, customer=customer).order_by("due_at").first()
    outbox_enqueue(
        customer=customer, kind="marketing", purpose="offers", dedupe_key="haywire-journey",
        subject=first.subject, body=first.body, content_key=first.content_key, journey=journey.slug, now=start,
    )  # fmt: skip
    dispatch_batch(sender=sender, now=start + timedelta(hours=5))
    journey.refresh_from_db()
    assert not journey.is_active
    assert "same journey step twice" in journey.brake_reason
    assert recorder.to(address) == []
    dispatch_batch(sender=sender, now=start + timedelta(days=3))
    assert recorder.to(address) == []


def test_get_campaign_shows_the_brake(api_for, smtp_server, sender) -> None:
    campaign = running_campaign()
    customer, _ = subscriber()
    enqueue_for(campaign, customer)
    _copy(campaign, customer, "haywire:api")
    dispatch_batch(sender=sender)
    shown = api_for(Role.MARKETER).get(f"campaigns/{campaign.pk}").json()
    assert shown["state"] == "paused"
    assert shown["brake_reason"].startswith("anomaly brake:")
    assert shown["counts_by_state"] == {"pending": 2}


def test_the_back_office_lists_the_brake(make_user, smtp_server, sender) -> None:
    from django.test import Client

    campaign = running_campaign(name="Runaway letter")
    customer, _ = subscriber()
    enqueue_for(campaign, customer)
    _copy(campaign, customer, "haywire:admin")
    dispatch_batch(sender=sender)
    client = Client()
    client.force_login(make_user(Role.ADMIN))
    page = client.get("/admin/outreach/campaign/")
    assert page.status_code == 200
    assert "anomaly brake: customer" in page.content.decode()
    assert client.get("/admin/outreach/journey/").status_code == 200
