"""The demo of `make run` (C8): a campaign to preview, one under way whose mail links the preference
page, and a journey."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from regard.outreach import demo, journeys
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import Campaign, JourneyEnrollment, OutboxMessage
from regard.outreach.sender import SmtpSender

pytestmark = pytest.mark.django_db


def test_the_demo_mail_leads_to_the_preference_page_in_the_customers_language(
    smtp_server: Any, sender: SmtpSender
) -> None:
    recorder, _ = smtp_server
    call_command("demo", customers=20, seed=7, verbosity=0)
    now = timezone.now()
    made = demo.outreach_demo_ensure(now=now)
    assert len(made) == 2
    assert demo.outreach_demo_ensure(now=now) == []  # once only
    draft = Campaign.objects.get(name=demo.DRAFT_NAME)
    welcome = Campaign.objects.get(name=demo.LAUNCHED_NAME)
    assert draft.state == Campaign.State.DRAFT
    assert welcome.state == Campaign.State.RUNNING
    assert welcome.planned_count >= 1
    enrollment = JourneyEnrollment.objects.get(journey__slug=journeys.ABANDONED_CART)
    assert (
        OutboxMessage.objects.filter(journey=journeys.ABANDONED_CART, customer=enrollment.customer).count()
        == 2
    )
    # Midday in Berlin the next day: no quiet hours; the dispatcher of `regard serve` sends.
    midday = (now + timedelta(days=1)).replace(hour=11, minute=0, second=0, microsecond=0)
    dispatch_batch(sender=sender, now=midday)
    anna = [r for r in recorder.received if "anna.weber@example.de" in r.rcpt_tos]
    assert len(anna) == 1
    text = anna[0].message.get_payload(decode=True).decode()
    assert text.startswith("Hallo Anna,")
    link = re.search(r"http://testserver(/p/[^\s]+)", text)
    assert link is not None
    page = Client().get(link.group(1))
    assert page.status_code == 200
    assert "Hallo Anna, Ihre Einstellungen" in page.content.decode()
