"""Bounces, complaints and unsubscribe mail over a real SMTP connection to `regard smtpd`'s listener."""

from __future__ import annotations

import smtplib
from urllib.parse import unquote

import pytest

from regard.consent import selectors as consent_selectors
from regard.consent.hashing import identifier_hash
from regard.consent.models import ConsentEvent, Suppression
from regard.customers.models import Customer, TimelineEvent
from regard.outreach import feedback
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import InboundFeedback, OutboxMessage
from regard.outreach.sender import SmtpSender
from tests.outreach.conftest import Recorder
from tests.outreach.helpers import enqueue_for, running_campaign, subscriber

pytestmark = pytest.mark.django_db(transaction=True)
DOMAIN = "mail.regard.test"


def _send(port: int, *, to: str, data: bytes, mail_from: str = "MAILER-DAEMON@mx.example.org") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(mail_from, [to], data)


def _sent_message(
    smtp_server: tuple[Recorder, str], sender: SmtpSender
) -> tuple[Customer, str, OutboxMessage]:
    """One newsletter really sent to a subscriber; returns the row and the VERP return path it used."""
    recorder, _ = smtp_server
    customer, address = subscriber()
    enqueue_for(running_campaign(), customer)
    assert dispatch_batch(sender=sender)["sent"] == 1
    row = OutboxMessage.objects.get(customer=customer)
    (received,) = recorder.to(address)
    return customer, received.mail_from, row


def _dsn(*, recipient: str, message_id: str, action: str = "failed", status: str = "5.1.1") -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-1"\r\n'
        "\r\n"
        "--dsn-1\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        f"Your message to {recipient} could not be delivered.\r\n"
        "--dsn-1\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} user unknown\r\n"
        "\r\n"
        "--dsn-1\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"Message-ID: {message_id}\r\n"
        "Subject: News for you\r\n"
        "\r\n"
        "--dsn-1--\r\n"
    ).encode()


def _arf(*, message_id: str, return_path: str = "", feedback_type: str = "abuse") -> bytes:
    return (
        "From: feedback@mailbox-provider.example\r\n"
        f"To: fbl@{DOMAIN}\r\n"
        "Subject: FW: News for you\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="arf-1"\r\n'
        "\r\n"
        "--arf-1\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "This is an email abuse report.\r\n"
        "--arf-1\r\n"
        "Content-Type: message/feedback-report\r\n"
        "\r\n"
        f"Feedback-Type: {feedback_type}\r\n"
        "User-Agent: ExampleFBL/1.0\r\n"
        "Version: 1\r\n"
        + (f"Original-Mail-From: <{return_path}>\r\n" if return_path else "")
        + "Original-Rcpt-To: <redacted@mailbox-provider.example>\r\n"
        "\r\n"
        "--arf-1\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        f"From: Regard <hello@{DOMAIN}>\r\n"
        f"Message-ID: {message_id}\r\n"
        "Subject: News for you\r\n"
        "\r\n"
        "Here is what is new this spring.\r\n"
        "--arf-1--\r\n"
    ).encode()


def _granted(customer: Customer) -> set[tuple[str, str]]:
    current = consent_selectors.consent_current([customer.pk]).get(customer.pk, {})
    return {key for key, event in current.items() if event.is_granted}


def _counts() -> tuple[int, int, int, int]:
    return (
        Suppression.objects.count(),
        ConsentEvent.objects.count(),
        TimelineEvent.objects.count(),
        InboundFeedback.objects.count(),
    )


def test_hard_bounce_at_the_verp_address_suppresses_and_withdraws_with_proof(
    smtp_server, sender, listener
) -> None:
    customer, return_path, row = _sent_message(smtp_server, sender)
    assert return_path.startswith("bounce+")
    assert return_path.endswith(f"@{DOMAIN}")

    _send(listener, to=return_path, data=_dsn(recipient=row.to_address, message_id=row.message_id))

    suppression = Suppression.objects.get(identifier_hash=identifier_hash(row.to_address))
    assert suppression.reason == "hard_bounce"
    assert suppression.detail["message_id"] == row.message_id
    assert _granted(customer) == set()
    withdrawal = ConsentEvent.objects.get(customer=customer, purpose="newsletter", action="withdrawn")
    assert withdrawal.source == "bounce"
    assert withdrawal.proof["message_id"] == row.message_id
    assert TimelineEvent.objects.filter(customer=customer, kind="message.bounced").exists()
    kept = InboundFeedback.objects.get()
    assert (kept.kind, kept.status, kept.outbox_message_id) == ("bounce", "applied", row.pk)


def test_after_a_hard_bounce_the_next_campaign_to_that_person_is_dropped_by_the_gate(
    smtp_server, sender, listener
) -> None:
    recorder, _ = smtp_server
    customer, return_path, row = _sent_message(smtp_server, sender)
    _send(listener, to=return_path, data=_dsn(recipient=row.to_address, message_id=row.message_id))

    enqueue_for(running_campaign(), customer)
    stats = dispatch_batch(sender=sender)

    assert stats["sent"] == 0
    assert stats["dropped"] == 1
    assert len(recorder.to(row.to_address)) == 1  # only the message that bounced
    dropped = OutboxMessage.objects.get(customer=customer, state=OutboxMessage.State.DROPPED)
    assert {reason["code"] for reason in dropped.gate_reasons} >= {"suppressed"}


def test_temporary_failure_is_kept_but_changes_no_consent(smtp_server, sender, listener) -> None:
    customer, return_path, row = _sent_message(smtp_server, sender)
    _send(
        listener,
        to=return_path,
        data=_dsn(recipient=row.to_address, message_id=row.message_id, action="delayed", status="4.2.2"),
    )
    assert not Suppression.objects.exists()
    assert _granted(customer) == {("newsletter", "email")}
    assert InboundFeedback.objects.get().status in {"ignored", "unparseable"}


def test_arf_complaint_suppresses_and_withdraws_all_marketing_consent(smtp_server, sender, listener) -> None:
    recorder, _ = smtp_server
    customer, _, row = _sent_message(smtp_server, sender)

    _send(listener, to=f"fbl@{DOMAIN}", data=_arf(message_id=row.message_id))

    suppression = Suppression.objects.get(identifier_hash=identifier_hash(row.to_address))
    assert suppression.reason == "complaint"
    assert _granted(customer) == set()
    withdrawals = ConsentEvent.objects.filter(customer=customer, action="withdrawn", source="complaint")
    assert {event.purpose for event in withdrawals} == {"newsletter", "offers", "surveys"}
    assert all(event.proof["message_id"] == row.message_id for event in withdrawals)
    assert TimelineEvent.objects.filter(customer=customer, kind="message.complaint").exists()

    enqueue_for(running_campaign(), customer)
    assert dispatch_batch(sender=sender)["dropped"] == 1
    assert len(recorder.to(row.to_address)) == 1


def test_arf_complaint_found_by_its_return_path_when_the_message_id_is_missing(
    smtp_server, sender, listener
) -> None:
    _customer, return_path, row = _sent_message(smtp_server, sender)
    _send(
        listener, to=return_path, data=_arf(message_id="<unknown@elsewhere.example>", return_path=return_path)
    )
    assert Suppression.objects.get().reason == "complaint"
    assert InboundFeedback.objects.get().outbox_message_id == row.pk


def test_mail_to_the_list_unsubscribe_mailto_address_unsubscribes(smtp_server, sender, listener) -> None:
    recorder, _ = smtp_server
    customer, _, row = _sent_message(smtp_server, sender)
    (received,) = recorder.to(row.to_address)
    header = received.message["List-Unsubscribe"]
    mailto = header.split("<mailto:")[1].rstrip(">")
    to, _, query = mailto.partition("?")
    subject = unquote(query.removeprefix("subject="))

    _send(
        listener,
        to=to,
        mail_from=row.to_address,
        data=f"From: {row.to_address}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nunsubscribe\r\n".encode(),
    )

    assert ("newsletter", "email") not in _granted(customer)
    event = ConsentEvent.objects.get(customer=customer, action="withdrawn")
    assert (event.source, event.proof["message_id"]) == ("unsubscribe_link", row.message_id)
    assert not Suppression.objects.exists()  # an unsubscribe is not a complaint
    enqueue_for(running_campaign(), customer)
    assert dispatch_batch(sender=sender)["dropped"] == 1


def test_malformed_mail_is_refused_and_changes_nothing(smtp_server, sender, listener) -> None:
    _, return_path, _ = _sent_message(smtp_server, sender)
    before = _counts()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(listener, to=return_path, data=b"this is not an email\r\nat all\r\n")
    assert refused.value.smtp_code == 550
    broken_mime = (
        b"From: x@example.org\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=feedback-report\r\n\r\nno boundary\r\n"
    )
    with pytest.raises(smtplib.SMTPDataError):
        _send(listener, to=f"fbl@{DOMAIN}", data=broken_mime)
    assert _counts() == before


def test_oversized_mail_is_refused_and_changes_nothing(smtp_server, sender, listener) -> None:
    _, return_path, _ = _sent_message(smtp_server, sender)
    before = _counts()
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * (feedback.MAX_MESSAGE_BYTES // 1000 + 10)
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused, smtplib.SMTPServerDisconnected)):
        _send(listener, to=return_path, data=big)
    assert _counts() == before


def test_mail_to_an_address_that_is_not_ours_is_refused_at_rcpt(listener) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _send(listener, to="someone@example.org", data=b"Subject: hi\r\n\r\nhello\r\n")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _send(listener, to=f"ceo@{DOMAIN}", data=b"Subject: hi\r\n\r\nhello\r\n")


def test_feedback_that_names_none_of_our_messages_is_kept_for_a_person_and_changes_nothing(
    listener,
) -> None:
    forged = f"bounce+{'0' * 40}@{DOMAIN}"
    _send(listener, to=forged, data=_dsn(recipient="victim@example.org", message_id="<x@example.org>"))
    _send(listener, to=f"unsubscribe@{DOMAIN}", data=b"Subject: unsubscribe not-a-token\r\n\r\n")
    _send(listener, to=f"fbl@{DOMAIN}", data=b"Subject: I hate this\r\n\r\nplease stop\r\n")
    assert not Suppression.objects.exists()
    assert not ConsentEvent.objects.exists()
    kept = InboundFeedback.objects.order_by("id")
    assert [(k.kind, k.status) for k in kept] == [
        ("bounce", "unmatched"),
        ("unsubscribe", "unparseable"),
        ("complaint", "unparseable"),
    ]
    assert "victim@example.org" in kept[0].raw
