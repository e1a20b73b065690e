"""The outbox against a real SMTP server on loopback: signing, headers, results, retries."""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header

import dkim
import pytest
from django.core.management import call_command
from django.utils import timezone

from regard.consent.models import Suppression
from regard.customers.models import TimelineEvent
from regard.outreach import dkim_keys
from regard.outreach.dispatcher import campaigns_finish, dispatch_batch, recover_stale
from regard.outreach.models import OutboxMessage
from regard.outreach.services import service_message_send
from tests.customers.factories import make_customer, unique
from tests.outreach.helpers import daytime_zone, enqueue_for, running_campaign, subscriber

pytestmark = pytest.mark.django_db
State = OutboxMessage.State


def _dns(name: bytes, timeout: int = 5) -> bytes:
    key = dkim_keys.key_load()
    assert key is not None
    assert name == f"{key.selector}._domainkey.{key.domain}.".encode()
    return key.public_record().encode()


def test_marketing_mail_is_signed_and_carries_one_click_unsubscribe(smtp_server, sender) -> None:
    recorder, _ = smtp_server
    customer, address = subscriber(preferred_name="Ingrid", formality="informal", language="en")
    row = enqueue_for(running_campaign(), customer)
    stats = dispatch_batch(sender=sender)
    assert stats["sent"] == 1
    [received] = recorder.to(address)
    raw = received.data
    assert dkim.verify(raw, dnsfunc=_dns)
    message = received.message
    signature = message["DKIM-Signature"]
    signed = signature.split("h=")[1].split(";")[0].replace(" ", "").replace("\n", "").replace("\t", "")
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= set(signed.split(":"))
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = [part.strip(" <>") for part in message["List-Unsubscribe"].split(",")]
    assert https.startswith("http://testserver/u/")
    assert mailto.startswith("mailto:unsubscribe@mail.regard.test")
    body = message.get_payload(decode=True).decode()
    assert body.startswith("Hi Ingrid,")
    assert https in body
    assert "/p/" in body
    assert "Berlin" in body  # the postal address
    row.refresh_from_db()
    assert row.state == State.SENT
    assert message["Message-ID"] == row.message_id
    assert received.mail_from.startswith("bounce+")
    assert TimelineEvent.objects.filter(customer=customer, kind="message.sent").exists()


def test_no_name_on_file_means_a_neutral_greeting_never_a_placeholder(smtp_server, sender) -> None:
    recorder, _ = smtp_server
    customer, address = subscriber(preferred_name="", given_name="Arthur", formality="neutral")
    enqueue_for(running_campaign(), customer)
    dispatch_batch(sender=sender)
    body = recorder.to(address)[0].message.get_payload(decode=True).decode()
    assert body.startswith("Hello,")
    assert "Arthur" not in body


def test_plain_text_mail_keeps_names_and_subjects_as_typed(smtp_server, sender) -> None:
    # Text parts are not HTML: no "O&#x27;Brien &amp; Co" in a customer's inbox.
    recorder, _ = smtp_server
    customer, address = subscriber(preferred_name="O'Brien & Co", formality="informal")
    enqueue_for(
        running_campaign(subject="News for {{ preferred_name }} <3", body="{{ greeting }}, news."), customer
    )
    dispatch_batch(sender=sender)
    message = recorder.to(address)[0].message
    body = message.get_payload(decode=True).decode()
    assert body.startswith("Hi O'Brien & Co, news.")
    assert str(make_header(decode_header(message["Subject"]))) == "News for O'Brien & Co <3"
    assert "&amp;" not in body
    assert "&#x27;" not in body


def test_template_needing_missing_data_is_held_with_the_reason(smtp_server, sender) -> None:
    recorder, _ = smtp_server
    customer, _ = subscriber(preferred_name="")
    row = enqueue_for(running_campaign(body="Dear {{ preferred_name }}, your {{ product.name }}"), customer)
    dispatch_batch(sender=sender)
    row.refresh_from_db()
    assert row.state == State.HELD
    assert row.gate_reasons[0]["code"] == "missing_data"
    assert "preferred_name" in row.gate_reasons[0]["detail"]
    assert not recorder.received


def test_gate_drop_is_recorded_with_reasons_and_nothing_is_sent(smtp_server, sender) -> None:
    recorder, _ = smtp_server
    customer = make_customer(
        identifiers=[("email", f"never{unique()}@example.org")], time_zone=daytime_zone()
    )
    row = enqueue_for(running_campaign(), customer)
    dispatch_batch(sender=sender)
    row.refresh_from_db()
    assert row.state == State.DROPPED
    assert [r["code"] for r in row.gate_reasons] == ["no_consent"]
    assert not recorder.received


def test_4xx_is_retried_later_with_backoff_and_delivered_once(smtp_server, sender) -> None:
    recorder, _ = smtp_server
    customer, address = subscriber()
    recorder.rcpt_replies[address] = "451 4.7.1 try again later"
    row = enqueue_for(running_campaign(), customer)
    stats = dispatch_batch(sender=sender)
    assert stats["retried"] == 1
    row.refresh_from_db()
    assert row.state == State.PENDING
    assert row.due_at > timezone.now()
    del recorder.rcpt_replies[address]
    dispatch_batch(sender=sender, now=row.due_at + timedelta(seconds=1))
    dispatch_batch(sender=sender, now=row.due_at + timedelta(hours=1))
    assert len(recorder.to(address)) == 1


def test_5xx_fails_and_suppresses_the_address_as_a_hard_bounce(smtp_server, sender) -> None:
    recorder, _ = smtp_server
    customer, address = subscriber()
    recorder.rcpt_replies[address] = "550 5.1.1 no such user"
    row = enqueue_for(running_campaign(), customer)
    dispatch_batch(sender=sender)
    row.refresh_from_db()
    assert row.state == State.FAILED
    assert row.smtp_code == 550
    assert Suppression.objects.get().reason == "hard_bounce"
    service_message_send(actor=None, customer=customer, subject="Receipt", body="{{ greeting }}, thanks.")
    dispatch_batch(sender=sender)
    assert not recorder.received


def test_service_message_needs_no_marketing_consent_and_has_no_unsubscribe_header(
    smtp_server, sender
) -> None:
    recorder, _ = smtp_server
    address = f"buyer{unique()}@example.org"
    customer = make_customer(identifiers=[("email", address)], preferred_name="Dr Weber", formality="formal")
    service_message_send(
        actor=None, customer=customer, subject="Your receipt", body="{{ greeting }}, thank you."
    )
    dispatch_batch(sender=sender)
    [received] = recorder.to(address)
    assert received.message["List-Unsubscribe"] is None
    assert dkim.verify(received.data, dnsfunc=_dns)


def test_uncertain_marketing_is_never_resent_but_service_mail_is_with_the_same_message_id(
    smtp_server, sender
) -> None:
    recorder, _ = smtp_server
    customer, address = subscriber()
    marketing = enqueue_for(running_campaign(), customer)
    service, _ = service_message_send(actor=None, customer=customer, subject="Receipt", body="Thanks.")
    long_ago = timezone.now() - timedelta(hours=1)
    # A worker claimed both and died before recording the outcome.
    OutboxMessage.objects.filter(pk__in=[marketing.pk, service.pk]).update(
        state=State.SENDING, claimed_at=long_ago, message_id="<fixed@mail.regard.test>"
    )
    assert recover_stale(now=timezone.now()) == 2
    dispatch_batch(sender=sender)
    marketing.refresh_from_db()
    service.refresh_from_db()
    assert marketing.state == State.UNCERTAIN
    assert marketing.was_uncertain
    assert service.state == State.SENT
    assert service.was_uncertain
    [received] = recorder.to(address)
    assert received.message["Message-ID"] == "<fixed@mail.regard.test>"


def test_one_click_from_the_received_headers_stops_the_next_campaign(smtp_server, sender) -> None:
    """RFC 8058 as a mailbox provider does it: POST to the header's https URI, nothing else."""
    from django.test import Client

    recorder, _ = smtp_server
    customer, address = subscriber()
    enqueue_for(running_campaign(), customer)
    dispatch_batch(sender=sender)
    message = recorder.to(address)[0].message
    https = message["List-Unsubscribe"].split(",")[0].strip(" <>")
    response = Client().post(
        https.removeprefix("http://testserver"),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    next_row = enqueue_for(running_campaign(), customer)
    dispatch_batch(sender=sender)
    next_row.refresh_from_db()
    assert next_row.state == State.DROPPED
    assert len(recorder.to(address)) == 1


def test_a_campaign_is_done_once_nothing_of_it_waits_to_go_out(smtp_server, sender) -> None:
    campaign = running_campaign()
    first, _ = subscriber()
    second, _ = subscriber()
    enqueue_for(campaign, first)
    later = enqueue_for(campaign, second)
    later.due_at = timezone.now() + timedelta(hours=3)  # held by the gate until later: still waiting
    later.save(update_fields=["due_at"])
    dispatch_batch(sender=sender)
    assert campaigns_finish() == 0
    campaign.refresh_from_db()
    assert campaign.state == campaign.State.RUNNING
    OutboxMessage.objects.filter(pk=later.pk).update(state=State.DROPPED)
    assert campaigns_finish() == 1
    campaign.refresh_from_db()
    assert campaign.state == campaign.State.DONE
    assert campaigns_finish() == 0


def test_the_dispatch_command_finishes_campaigns_when_idle(smtp_server) -> None:
    campaign = running_campaign()
    customer, address = subscriber()
    enqueue_for(campaign, customer)
    call_command("dispatch", "--once", "--relay", smtp_server[1])
    assert smtp_server[0].to(address)
    campaign.refresh_from_db()
    assert campaign.state == campaign.State.DONE


def test_the_footer_speaks_the_recipients_language(smtp_server, sender) -> None:
    # A German newsletter with an English "you agreed to newsletter by email" reads as spam.
    recorder, _ = smtp_server
    customer, address = subscriber(preferred_name="Jana", formality="informal", language="de")
    enqueue_for(running_campaign(body="{{ greeting }}, Neuigkeiten."), customer)
    dispatch_batch(sender=sender)
    body = recorder.to(address)[0].message.get_payload(decode=True).decode()
    assert "Sie erhalten diese E-Mail, weil Sie zugestimmt haben, unseren Newsletter zu erhalten." in body
    assert "Mit einem Klick abmelden: http" in body
    assert "Themen, Kanäle und Häufigkeit wählen oder pausieren: http" in body
    assert "You receive" not in body
    assert "Unsubscribe" not in body


def test_every_language_of_the_demo_has_the_whole_footer() -> None:
    from regard.customers.demo import LOCALES
    from regard.outreach.footer import PURPOSE_WORDS, email_footer

    for language in sorted({loc.language for loc in LOCALES if not loc.language.startswith("en")}):
        for purpose in PURPOSE_WORDS:
            links = {"unsubscribe_url": "u", "preferences_url": "p"}
            english = email_footer(language="en", purpose=purpose, marketing=True, **links)
            footer = email_footer(language=language, purpose=purpose, marketing=True, **links)
            # Why, unsubscribe, preferences: each line in the language, none left in English.
            assert not set(footer.splitlines()[2:5]) & set(english.splitlines()[2:5]), (language, footer)
        service = email_footer(language=language, purpose="service", marketing=False)
        assert "Reply to this message" not in service, language
