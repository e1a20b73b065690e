"""Customer 360 (C2, C3): consent in force and its history, and every message with the gate's reasons."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from regard.consent import services as consent_services
from regard.customers import services as customer_services
from regard.outreach import services as outreach_services
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.sender import Relay, SmtpSender
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db


def _grant(customer: Any, purpose: str, **proof: Any) -> None:
    consent_services.consent_grant(
        actor=None, customer=customer, purpose=purpose, channel="email", source="form", proof=proof
    )


@pytest.fixture
def merged_person() -> Any:
    """Ms Braun in Berlin, once two profiles: one signed up on a form, the other unsubscribed since."""
    survivor = make_customer(
        preferred_name="Ms Braun",
        time_zone="Europe/Berlin",
        identifiers=[("email", f"b{unique()}@example.de")],
    )
    absorbed = make_customer(time_zone="Europe/Berlin", identifiers=[("email", f"b{unique()}@example.com")])
    _grant(survivor, "newsletter", form_text_version="signup-v3", ip="203.0.113.9")
    _grant(absorbed, "surveys")
    consent_services.consent_withdraw(
        actor=None,
        customer=absorbed,
        purpose="surveys",
        channel="email",
        source="unsubscribe_link",
        proof={"message_id": "<m1@mail.regard.test>"},
    )
    customer_services.customer_merge(survivor=survivor, absorbed=absorbed, actor=None)
    return survivor


def test_the_page_shows_consent_in_force_and_its_history(make_user: Any, merged_person: Any) -> None:
    client = Client()
    client.force_login(make_user(Role.AGENT))
    page = client.get(reverse("customers:detail", args=[merged_person.pk])).content.decode()
    assert page.count('data-testid="consent-state"') == 2
    assert 'newsletter by email:</strong> <span class="pill">granted' in page
    assert 'surveys by email:</strong> <span class="pill warn">withdrawn' in page
    assert page.count('data-testid="consent-event"') == 3
    assert "form_text_version: signup-v3" in page
    assert "Unsubscribe Link" in page
    audit = AuditEntry.objects.filter(object_type="customer", customer_id=merged_person.pk).latest("id")
    assert "consent" in audit.detail["sections"]
    assert "messages" in audit.detail["sections"]


def test_held_and_dropped_messages_show_the_gates_reasons(make_user: Any, merged_person: Any) -> None:
    tomorrow_night = (timezone.now() + timedelta(days=1)).replace(hour=21, minute=30, second=0, microsecond=0)
    for purpose in ("newsletter", "offers"):
        outreach_services.outbox_enqueue(
            customer=merged_person,
            kind="marketing",
            purpose=purpose,
            dedupe_key=f"test:{purpose}:{unique()}",
            subject=f"About {purpose}",
            body="{{ greeting }}",
            due_at=tomorrow_night,
            now=tomorrow_night,
        )
    sender = SmtpSender(Relay.from_url("smtp://127.0.0.1:9"))  # nothing may reach it
    try:
        stats = dispatch_batch(sender=sender, now=tomorrow_night)
    finally:
        sender.close()
    assert (stats["held"], stats["dropped"], stats["sent"]) == (1, 1, 0)
    client = Client()
    client.force_login(make_user(Role.AGENT))
    page = client.get(reverse("customers:detail", args=[merged_person.pk])).content.decode()
    assert page.count('data-testid="message-row"') == 2
    assert "dropped: no consent for offers by email" in page
    assert "held: quiet hours until" in page
    assert "08:00 Europe/Berlin" in page


def test_a_marketer_cannot_read_the_page(make_user: Any, merged_person: Any) -> None:
    client = Client()
    client.force_login(make_user(Role.MARKETER))
    response = client.get(reverse("customers:detail", args=[merged_person.pk]))
    assert response.status_code == 403
    assert b"signup-v3" not in response.content


def test_the_message_list_shows_subjects_as_the_person_saw_them_not_template_source(make_user: Any) -> None:
    person = make_customer(preferred_name="Ms Braun", identifiers=[("email", f"b{unique()}@example.de")])
    outreach_services.outbox_enqueue(
        customer=person,
        kind="service",
        purpose="service",
        dedupe_key=f"reply-{unique()}",
        subject="{{ support_subject }}",
        body="Hello",
        context={"support_subject": "Re: My earphones crackle [#cdc5a85a30e7]"},
    )
    outreach_services.outbox_enqueue(
        customer=person,
        kind="service",
        purpose="surveys",
        dedupe_key=f"survey-{unique()}",
        subject="How did we do, {{ not_on_file }}? [#{{ token }}]",
        body="Hello",
    )
    client = Client()
    client.force_login(make_user(Role.AGENT))
    page = client.get(reverse("customers:detail", args=[person.pk])).content.decode()
    assert "Re: My earphones crackle" in page
    assert "How did we do, …?" in page
    assert "{{" not in page
    assert "[#" not in page
