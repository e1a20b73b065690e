"""Art. 17 end to end: a person with a full history is erased, nothing personal is left in any
row, and when they come back by import, the API, mail or a campaign, they are never marketed to
again, yet support still answers them (issue 14)."""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from regard.consent import services as consent_services
from regard.customers.importing import customers_import
from regard.customers.models import Customer, Identifier
from regard.outreach import services as outreach_services
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import Campaign, OutboxMessage
from regard.outreach.sender import Relay, SmtpSender
from regard.privacy.models import AuditEntry, Tombstone
from regard.privacy.roles import Role
from regard.support.models import Attachment, Conversation
from tests.customers.factories import make_customer, make_order, unique
from tests.outreach.conftest import Recorder, smtp_server  # noqa: F401 (a fixture)
from tests.outreach.helpers import daytime_zone, running_campaign, subscriber

pytestmark = pytest.mark.django_db(transaction=True)
SUPPORT = "help@shop.test"


@pytest.fixture(autouse=True)
def _mail_settings(settings: Any, tmp_path: Path) -> None:
    settings.REGARD_SUPPORT_ADDRESSES = [SUPPORT]
    settings.REGARD_MAIL_DOMAIN = "mail.regard.test"
    settings.REGARD_PUBLIC_URL = "http://testserver"
    settings.DATA_DIR = tmp_path


@pytest.fixture
def sender(smtp_server: tuple[Recorder, str]) -> Iterator[SmtpSender]:  # noqa: F811
    smtp = SmtpSender(Relay.from_url(smtp_server[1]), timeout=10)
    yield smtp
    smtp.close()


def _mail_in(port: int, *, sender: str, body: str, attachment: bytes | None = None) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = "My order never arrived"
    message["Message-ID"] = f"<m{unique()}@example.org>"
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf", filename="receipt.pdf")
    address = sender.split("<")[-1].rstrip(">")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(address, [SUPPORT], message.as_bytes())


def _rows_containing(needles: list[str]) -> list[str]:
    """Every (model, field) of every installed model whose stored text holds one of ``needles``."""
    found = []
    lowered = [n.lower() for n in needles]
    for model in apps.get_models():
        fields = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField | models.BinaryField)
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*(f.attname for f in fields)):
            for field, value in zip(fields, row, strict=True):
                if value is None:
                    continue
                text = bytes(value).decode("latin-1") if isinstance(value, bytes | memoryview) else str(value)
                if any(n in text.lower() for n in lowered):
                    found.append(f"{model._meta.label_lower}.{field.name}")
    return sorted(set(found))


def test_erased_person_leaves_no_personal_data_and_is_never_marketed_to_again(
    admin_api: Any,
    listener: int,
    smtp_server: tuple[Recorder, str],  # noqa: F811
    sender: SmtpSender,
    tmp_path: Path,
) -> None:
    recorder, _ = smtp_server
    n = unique()
    email, phone = f"augusta.lovelace{n}@example.org", f"+44 20 7946 {n % 10000:04d}"
    family = f"Byronsdottir{n}"
    ada = make_customer(
        given_name="Augusta",
        family_name=family,
        preferred_name="Augusta Ada",
        street="12 Analytical Engine Row",
        locality="Marylebone",
        postcode="NW1 6XE",
        time_zone=daytime_zone(),
        identifiers=[("email", email), ("phone", phone)],
    )
    consent_services.consent_grant(
        actor=None,
        customer=ada,
        purpose="newsletter",
        channel="email",
        source="form",
        proof={"ip": "203.0.113.7", "user_agent": f"Mozilla ({email})", "note": family},
    )
    consent_services.preferences_set(
        actor=None, customer=ada, source="preference_page", proof={"note": family}, excluded_topics=["golf"]
    )
    make_order(customer=ada)
    campaign = running_campaign()
    outreach_services.service_message_send(
        actor=None, customer=ada, subject=f"Your order, {family}", body=f"Dear {family}, it is on its way."
    )
    outreach_services.outbox_enqueue(
        customer=ada,
        kind="marketing",
        purpose="newsletter",
        dedupe_key=f"campaign:{campaign.pk}:customer:{ada.pk}",
        content_key=f"campaign:{campaign.pk}",
        campaign=campaign,
    )
    dispatch_batch(sender=sender)
    assert len(recorder.to(email)) == 2
    _mail_in(
        listener,
        sender=f"Augusta {family} <{email}>",
        body=f"Hello, this is Augusta {family}, call me on {phone}.",
        attachment=f"receipt for {family}".encode(),
    )
    conversation = Conversation.objects.get(customer=ada)
    assert Attachment.objects.filter(message__conversation=conversation).count() == 1
    needles = [email, family, "Analytical Engine", phone.replace(" ", "")[-8:], "NW1 6XE"]
    assert _rows_containing(needles), "the scan must see the person before the erasure"

    answer = admin_api.post(f"customers/{ada.pk}/erase", {"reason": "Request by email, ticket 4711"})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["tombstones"] >= 2

    assert _rows_containing(needles) == []
    assert Attachment.objects.count() == 0
    assert Identifier.objects.filter(customer=ada).count() == 0
    shell = Customer.objects.get(pk=ada.pk)
    assert shell.erased_at is not None
    assert shell.display_name == f"Customer {ada.pk}"
    assert ada.orders.count() == 1  # within the legal retention, stripped of the person
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ERASE)
    assert entry.customer_id == ada.pk
    assert entry.detail["reason"] == "Request by email, ticket 4711"
    assert not Tombstone.objects.filter(key_hash=hashlib.sha256(email.encode()).hexdigest()).exists()

    # The same CSV again: refused, with a reason that names no one.
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(f"email,phone,given_name,family_name\n{email},{phone},Augusta,{family}\n")
    report = customers_import(path=csv_file)
    assert (report.imported, report.rejected) == (0, 1)
    errors = (tmp_path / report.errors_path.name).read_text()
    assert "asked to be erased" in errors
    assert family not in errors
    # The API answers the same.
    refused = admin_api.post(
        "customers", {"preferred_name": "Augusta", "identifiers": [{"kind": "email", "value": email}]}
    )
    assert refused.status_code == 409
    assert refused.json()["reason"] == "erased"
    assert email not in refused.json()["detail"]
    # A partner asking with the bare SHA-256 still hears "do not mail" (S5).
    partner = admin_api.post("suppression/check", {"hashes": [hashlib.sha256(email.encode()).hexdigest()]})
    assert partner.json()["suppressed"] == [hashlib.sha256(email.encode()).hexdigest()]

    # They write to support again: a new profile and a conversation, so they can be answered.
    _mail_in(listener, sender=f"Augusta <{email}>", body="Did you really delete everything?")
    returning = Conversation.objects.exclude(pk=conversation.pk).get().customer
    assert returning.pk != ada.pk
    assert returning.erased_at is None
    outreach_services.service_message_send(
        actor=None, customer=returning, subject="Your question", body="Yes, everything is gone."
    )
    dispatch_batch(sender=sender)
    assert len(recorder.to(email)) == 3  # the support answer reached them

    # A campaign to everyone with consent: the returning address gets no marketing.
    _control, control_address = subscriber()
    consent_services.consent_grant(
        actor=None, customer=returning, purpose="newsletter", channel="email", source="api"
    )  # without proof: not the fresh consent erasure asks for
    letter = outreach_services.campaign_create(
        actor=None, name="Autumn letter", purpose="newsletter", subject="Autumn", body="{{ greeting }}"
    )
    outreach_services.campaign_launch(actor=None, campaign=letter)
    dispatch_batch(sender=sender)
    assert len(recorder.to(control_address)) == 1
    assert len(recorder.to(email)) == 3
    row = OutboxMessage.objects.get(campaign=letter, customer=returning)
    assert row.state == OutboxMessage.State.DROPPED
    assert "erased" in [reason["code"] for reason in row.gate_reasons]
    assert not OutboxMessage.objects.filter(campaign=letter, customer=ada).exists()
    assert Campaign.objects.get(pk=letter.pk).planned_count == 2
    assert Role.ADMIN  # the erasure above was an admin's


def test_an_erasure_mid_campaign_stops_the_persons_claimed_message(
    smtp_server: tuple[Recorder, str],  # noqa: F811
    make_user: Any,
) -> None:
    """Invariant 2 for erasure: committed while the batch goes out, seen before the hand-over."""
    from regard.privacy.erasure import customer_erase
    from tests.outreach.helpers import enqueue_for

    recorder, relay = smtp_server
    admin = make_user(Role.ADMIN)
    campaign = running_campaign()
    # Consent given a day ago: only the erasure itself is a change the dispatcher must see.
    a_day_ago = timezone.now() - timedelta(days=1)
    people = [subscriber(granted_at=a_day_ago) for _ in range(12)]
    for customer, _ in people:
        enqueue_for(campaign, customer)
    erased, erased_address = people[8]
    done: list[int] = []

    def erase_after_fifth(_message: object) -> None:
        if len(recorder.received) == 5 and not done:
            customer_erase(actor=admin, customer_id=erased.pk, reason="Request by phone")
            done.append(5)

    recorder.on_message = erase_after_fifth
    smtp = SmtpSender(Relay.from_url(relay))
    try:
        stats = dispatch_batch(sender=smtp, limit=100)  # one batch: all claimed before the erasure
    finally:
        smtp.close()
    assert done == [5]
    assert stats["stopped_before_send"] == 1
    assert recorder.to(erased_address) == []
    assert len(recorder.received) == 11
    row = OutboxMessage.objects.get(customer=erased)
    assert (row.state, row.to_address, row.body) == (OutboxMessage.State.DROPPED, "", "[erased]")
