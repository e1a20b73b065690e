"""Support mail over a real SMTP connection to `regard smtpd`'s listener: parsing, threading, keeping (C4)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from regard.customers.models import Customer, TimelineEvent
from regard.support import inbound
from regard.support.models import Attachment, Conversation, Message, SlaPolicy, Team
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db(transaction=True)
SUPPORT = "help@shop.test"


@pytest.fixture(autouse=True)
def _support_settings(settings: Any) -> None:
    settings.REGARD_SUPPORT_ADDRESSES = [SUPPORT]
    settings.REGARD_MAIL_DOMAIN = "mail.regard.test"


def send(port: int, data: bytes, *, to: str = SUPPORT, mail_from: str = "ada@example.org") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(mail_from, [to], data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def mail(
    body: str = "My earphones stopped working.",
    *,
    sender: str = "Ada Lovelace <ada@example.org>",
    subject: str = "Broken earphones",
    message_id: str = "<m1@example.org>",
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def test_a_mail_to_the_support_address_opens_a_conversation_for_the_known_customer(listener: int) -> None:
    ada = make_customer(identifiers=[("email", "ada@example.org")])
    send(listener, mail().as_bytes())

    conversation = Conversation.objects.get()
    assert (conversation.customer_id, conversation.channel, conversation.subject) == (
        ada.pk,
        "email",
        "Broken earphones",
    )
    (message,) = conversation.messages.all()
    assert message.direction == Message.Direction.IN
    assert message.body_text == "My earphones stopped working."
    assert message.message_id == "<m1@example.org>"
    assert message.sender_address == "ada@example.org"
    assert message.parse_error == ""
    assert b"Broken earphones" in message.raw.encode()
    assert TimelineEvent.objects.filter(customer=ada, kind="conversation.message_received").exists()


def test_an_unknown_sender_gets_a_new_profile_by_address_and_name(listener: int) -> None:
    send(listener, mail(sender="Grace Hopper <grace@example.org>").as_bytes(), mail_from="grace@example.org")
    customer = Conversation.objects.get().customer
    assert (customer.given_name, customer.family_name) == ("Grace", "Hopper")
    assert customer.identifiers.get().value_normalised == "grace@example.org"


def test_html_attachments_and_charsets_are_read(listener: int) -> None:
    message = mail(subject="Kopfhörer defekt", body="")
    message.set_content(
        "Grüße aus Köln, die Kopfhörer sind kaputt.", charset="iso-8859-1", cte="quoted-printable"
    )
    message.add_alternative("<p>Grüße aus <b>Köln</b></p><script>x()</script>", subtype="html")
    message.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="receipt.pdf")
    message.add_attachment("Bestellnummer: 1042", filename="notes.txt")
    send(listener, message.as_bytes())

    stored = Message.objects.get()
    assert stored.conversation.subject == "Kopfhörer defekt"

    assert "Grüße aus Köln" in stored.body_text
    assert "<b>Köln</b>" in stored.body_html
    attachments = {a.filename: a for a in Attachment.objects.filter(message=stored)}
    assert set(attachments) == {"receipt.pdf", "notes.txt"}
    assert bytes(attachments["receipt.pdf"].data) == b"%PDF-1.4 receipt"
    assert attachments["receipt.pdf"].content_type == "application/pdf"
    assert attachments["receipt.pdf"].size == len(b"%PDF-1.4 receipt")


def test_an_html_only_mail_gets_a_readable_text_body() -> None:
    message = EmailMessage()
    message["From"] = "ada@example.org"
    message["Subject"] = "html only"
    message.set_content(
        "<html><body><p>Hello</p><p>The <i>left</i> one is silent.</p></body></html>", subtype="html"
    )
    stored = inbound.support_receive(mail_from="ada@example.org", rcpt_tos=[SUPPORT], data=message.as_bytes())
    assert stored.body_text == "Hello\nThe left one is silent."


def test_a_reply_chain_threads_by_in_reply_to_references_and_the_token(listener: int) -> None:
    send(listener, mail(message_id="<c1@example.org>").as_bytes())
    conversation = Conversation.objects.get()
    send(
        listener,
        mail(
            "Any news?",
            subject="Re: Broken earphones",
            message_id="<c2@example.org>",
            In_Reply_To="<c1@example.org>",
        ).as_bytes(),
    )
    send(
        listener,
        mail(
            "Still waiting.",
            subject="Re: Re: Broken earphones",
            message_id="<c3@other-client.example>",
            References="<c1@example.org> <c2@example.org>",
        ).as_bytes(),
    )
    # A new mail from another client that lost the headers but kept our token in the subject.
    send(
        listener,
        mail(
            "Hello again", subject=f"Fwd: [#{conversation.token}] earphones", message_id="<c4@x.example>"
        ).as_bytes(),
    )
    assert Conversation.objects.count() == 1
    assert list(conversation.messages.values_list("message_id", flat=True)) == [
        "<c1@example.org>",
        "<c2@example.org>",
        "<c3@other-client.example>",
        "<c4@x.example>",
    ]
    conversation.refresh_from_db()
    assert conversation.customer_message_count == 4

    send(listener, mail("Another topic", subject="Invoice", message_id="<d1@example.org>").as_bytes())
    assert Conversation.objects.count() == 2


def test_the_same_mail_delivered_twice_is_one_message(listener: int) -> None:
    data = mail().as_bytes()
    send(listener, data)
    send(listener, data)
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "other",
    [
        {"body": "A different mail that reuses the Message-ID."},
        {"sender": "Mallory <mallory@example.org>"},
        {"subject": "Another subject"},
    ],
)
def test_a_distinct_mail_that_reuses_a_message_id_is_stored_too(listener: int, other: dict[str, str]) -> None:
    # Nothing accepted is lost: a reused Message-ID alone does not make a mail a retry.
    send(listener, mail().as_bytes())
    send(listener, mail(**other).as_bytes(), mail_from="mallory@example.org")
    assert Message.objects.count() == 2
    send(listener, mail(**other).as_bytes(), mail_from="mallory@example.org")
    assert Message.objects.count() == 2  # and that one's own retry is still recognised


def test_a_broken_mime_message_is_kept_raw_and_shown_with_its_error(listener: int) -> None:
    broken = (
        b"From: Ada <ada@example.org>\r\nTo: help@shop.test\r\nSubject: photo\r\nMessage-ID: <b1@example.org>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
        b"--nowhere\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--nowhere--\r\n"
    )
    send(listener, broken)
    message = Message.objects.get()
    assert message.parse_error.startswith("broken MIME structure")
    assert message.raw.encode() == broken
    assert message.conversation.subject == "photo"
    assert message.conversation.customer.identifiers.get().value_normalised == "ada@example.org"


def test_text_that_is_no_email_at_all_is_still_kept(listener: int) -> None:
    send(listener, b"this is not an email\r\nat all\r\n", mail_from="someone@example.org")
    message = Message.objects.get()
    assert message.parse_error
    assert "this is not an email" in message.raw
    assert message.conversation.customer.identifiers.get().value_normalised == "someone@example.org"


def test_oversized_mail_is_refused_with_552_and_nothing_is_written(listener: int) -> None:
    customers = Customer.objects.count()
    big = mail("x").as_bytes().replace(b"\n", b"\r\n") + (b"y" * 998 + b"\r\n") * (
        inbound.MAX_MESSAGE_BYTES // 1000 + 10
    )
    # A client announcing the size is refused at MAIL FROM (RFC 1870) ...
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(listener, big)
    assert refused.value.smtp_code == 552
    # ... and one that does not, after DATA.
    with smtplib.SMTP("127.0.0.1", listener, timeout=60) as smtp:
        smtp.ehlo()
        assert smtp.mail("ada@example.org")[0] == 250
        assert smtp.rcpt(SUPPORT)[0] == 250
        code, _ = smtp.data(big)
    assert code == 552
    assert not Message.objects.exists()
    assert Customer.objects.count() == customers


def test_mail_for_an_address_that_is_not_ours_is_refused(listener: int) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(listener, mail().as_bytes(), to="someone@elsewhere.example")
    assert not Message.objects.exists()


def test_a_teams_support_address_is_accepted_and_files_the_conversation_under_the_team(listener: int) -> None:
    team = Team.objects.create(name="Returns", slug="returns", support_address="returns@shop.test")
    send(listener, mail().as_bytes(), to="Returns@Shop.test")
    assert Conversation.objects.get().team == team


def _signing_key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def test_dkim_is_verified_and_spf_dmarc_are_taken_from_authentication_results() -> None:
    pem, record = _signing_key()
    looked_up: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        looked_up.append(name)
        return record

    data = mail().as_bytes().replace(b"\n", b"\r\n")
    signed = (
        dkim.sign(data, b"s1", b"example.org", pem, include_headers=[b"from", b"subject", b"message-id"])
        + data
    )
    with_results = (
        b"Authentication-Results: mx.shop.test; spf=pass smtp.mailfrom=example.org; dmarc=pass\r\n" + signed
    )

    good = inbound.support_receive(
        mail_from="ada@example.org", rcpt_tos=[SUPPORT], data=with_results, dnsfunc=dns
    )
    assert looked_up == [b"s1._domainkey.example.org."]
    assert good.auth_results["dkim"] == "pass"
    assert good.auth_results["dkim_domain"] == "example.org"
    assert (good.auth_results["spf"], good.auth_results["dmarc"]) == ("pass", "pass")
    assert good.auth_results["reported"]["authserv_id"] == "mx.shop.test"

    tampered = signed.replace(b"stopped working", b"work fine", 1).replace(
        b"<m1@example.org>", b"<m2@example.org>"
    )
    bad = inbound.support_receive(mail_from="ada@example.org", rcpt_tos=[SUPPORT], data=tampered, dnsfunc=dns)
    assert bad.auth_results["dkim"] == "fail"
    assert (bad.auth_results["spf"], bad.auth_results["dmarc"]) == ("none", "none")

    unsigned = inbound.support_receive(
        mail_from="ada@example.org", rcpt_tos=[SUPPORT], data=mail(message_id="<m3@example.org>").as_bytes()
    )
    assert unsigned.auth_results == {"spf": "none", "dkim": "none", "dmarc": "none", "checked_here": ["dkim"]}


def test_a_signature_whose_key_cannot_be_looked_up_is_a_temporary_error_not_a_lost_mail() -> None:
    pem, _ = _signing_key()

    def no_dns(name: bytes, timeout: int = 5) -> bytes:
        raise OSError("no answer from the resolver")

    data = mail().as_bytes().replace(b"\n", b"\r\n")
    signed = dkim.sign(data, b"s1", b"example.org", pem) + data
    stored = inbound.support_receive(
        mail_from="ada@example.org", rcpt_tos=[SUPPORT], data=signed, dnsfunc=no_dns
    )
    assert stored.auth_results["dkim"] == "temperror"
    assert stored.body_text == "My earphones stopped working."


def receive(message: EmailMessage) -> Message:
    return inbound.support_receive(mail_from="ada@example.org", rcpt_tos=[SUPPORT], data=message.as_bytes())


def test_a_new_mail_is_stored_in_a_bounded_number_of_queries_and_its_events_recompute_the_sla_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from regard.support import sla

    make_customer(identifiers=[("email", "ada@example.org")])
    receive(mail(message_id="<warm@example.org>", subject="Warm-up"))
    recomputes: list[int] = []
    original = sla.sla_recompute

    def counting(*, conversation_id: int, now: Any = None) -> Any:
        recomputes.append(conversation_id)
        return original(conversation_id=conversation_id, now=now)

    monkeypatch.setattr(sla, "sla_recompute", counting)
    with CaptureQueriesContext(connection) as queries:
        first = receive(mail(message_id="<q1@example.org>", subject="Question"))
    stored = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # conversation.created and message.created of one new mail: the due times are computed once.
    assert recomputes == [first.conversation_id]
    assert len(stored) <= 26, "\n".join(stored)
    # A second customer message while the first still waits cannot move a due time.
    receive(mail("And another thing", message_id="<q2@example.org>", In_Reply_To="<q1@example.org>"))
    assert recomputes == [first.conversation_id]
    assert Message.objects.filter(conversation_id=first.conversation_id).count() == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated"},
        {"X_Autoreply": "yes"},
        {"Precedence": "auto_reply"},
        {"Precedence": "bulk"},
        {"subject": "Out of Office: Re: Broken earphones"},
        {"subject": "Abwesenheitsnotiz: Kopfhörer"},
    ],
)
def test_an_auto_reply_is_kept_but_does_not_reopen_or_start_the_next_response_clock(
    headers: dict[str, str],
) -> None:
    from django.utils import timezone

    from regard.support import services

    SlaPolicy.objects.get_or_create(
        team=None,
        kind="",
        priority="",
        defaults={"first_response_minutes": 960, "next_response_minutes": 960, "resolution_minutes": 4800},
    )
    first = receive(mail(message_id="<c1@example.org>"))
    conversation = first.conversation
    # Answered (the reply itself is tested with the outbox) and resolved.
    Conversation.objects.filter(pk=conversation.pk).update(
        first_response_at=timezone.now(), awaiting_reply_since=None
    )
    services.conversation_set_status(actor=None, conversation=conversation, status="resolved")
    subject = headers.pop("subject", "Re: Broken earphones")
    auto = receive(
        mail(
            "I am away until Monday.",
            subject=subject,
            message_id="<a1@example.org>",
            In_Reply_To="<c1@example.org>",
            **headers,
        )
    )
    conversation.refresh_from_db()
    assert auto.conversation_id == conversation.pk
    assert auto.is_automated
    assert conversation.status == "resolved"
    assert conversation.reopen_count == 0
    assert conversation.awaiting_reply_since is None
    assert conversation.next_response_due_at is None
    assert conversation.customer_message_count == 1

    person = receive(
        mail(
            "It broke again.",
            subject="Re: Broken earphones",
            message_id="<c2@example.org>",
            In_Reply_To="<c1@example.org>",
        )
    )
    conversation.refresh_from_db()
    assert not person.is_automated
    assert conversation.status == "open"
    assert conversation.reopen_count == 1
    assert conversation.awaiting_reply_since == person.created_at
    assert conversation.next_response_due_at is not None


def test_mail_without_a_readable_sender_shares_one_profile_per_sender_as_written() -> None:
    def unreadable(sender: str, message_id: str) -> Message:
        data = (
            f"From: {sender}\r\nTo: help@shop.test\r\nSubject: Hello\r\nMessage-ID: <{message_id}>\r\n\r\nhi\r\n"
        ).encode()
        return inbound.support_receive(mail_from="", rcpt_tos=[SUPPORT], data=data)

    first = unreadable("Shop Robot", "u1@x.example")
    second = unreadable("Shop Robot", "u2@x.example")
    other = unreadable("undisclosed-recipients:;", "u3@x.example")
    assert first.conversation.customer_id == second.conversation.customer_id
    assert other.conversation.customer_id != first.conversation.customer_id
    assert Customer.objects.count() == 2
    assert "Shop Robot" in first.sender_address  # shown to the agent as it came
    unknown = first.conversation.customer
    assert (unknown.preferred_name, unknown.source) == ("Unknown sender", inbound.UNKNOWN_SENDER_SOURCE)
    assert not unknown.identifiers.exists()

    # Nothing at all to go by (no From, no envelope sender): still one shared profile, not one per mail.
    blank = [
        inbound.support_receive(
            mail_from="", rcpt_tos=[SUPPORT], data=f"Subject: x{i}\r\n\r\nbody\r\n".encode()
        )
        for i in range(2)
    ]
    assert blank[0].conversation.customer_id == blank[1].conversation.customer_id
    assert Customer.objects.count() == 3
