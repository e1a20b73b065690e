"""Support desk demo data: a team with business hours, its address, and conversations on every
channel (email with a reply chain and an unreadable message, chat, phone, the contact form).

Made once (``support_demo_ensure`` does nothing when the desk already has conversations), by
`regard demo` and by `regard serve` for a database that already holds customers.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from regard.customers.models import Customer
from regard.customers.selectors import customer_resolve
from regard.support import inbound, services
from regard.support.models import Conversation, SavedReply, Team

DEMO_SAVED_REPLIES = [
    (
        "Thanks, we are on it",
        "en",
        "Thank you for contacting us. We have received your message and are looking into it. "
        "We will get back to you as soon as possible.",
    ),
    (
        "Danke, wir kümmern uns",
        "de",
        "Vielen Dank für Ihre Nachricht. Wir haben sie erhalten und kümmern uns so schnell wie möglich "
        "um Ihr Anliegen.",
    ),
]


def demo_support_address() -> str:
    return f"support@{settings.REGARD_MAIL_DOMAIN}"


def _mail(*, sender: str, subject: str, message_id: str, body: str, in_reply_to: str = "") -> bytes:
    headers = [
        f"From: {sender}",
        f"To: {demo_support_address()}",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: 8bit",
        "Authentication-Results: mx.demo.example; spf=pass smtp.mailfrom=example.org; dmarc=pass",
    ]
    if in_reply_to:
        headers += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n") + "\r\n").encode()


def _customer(kind: str, value: str) -> Customer | None:
    try:
        return customer_resolve(kind=kind, value=value)
    except Exception:
        return None


@transaction.atomic
def support_demo_ensure() -> list[str]:
    """The demo desk; returns what it made, one line each (nothing when it exists)."""
    team, created = Team.objects.get_or_create(
        slug="care",
        defaults={
            "name": "Customer care",
            "time_zone": "Europe/Berlin",
            "country": "DE",
            "support_address": demo_support_address(),
        },
    )
    for agent in User.objects.filter(groups__name__in=["agent", "admin"]).distinct()[:20]:
        team.members.add(agent)
    # Saved answers to start from; sent unchanged, the reply check points them out (S7).
    for title, language, body in DEMO_SAVED_REPLIES:
        SavedReply.objects.get_or_create(
            title=title,
            defaults={"language": language, "body": body, "team": team, "created_at": timezone.now()},
        )
    if Conversation.objects.exists():
        return [f"Support team '{team.name}' at {team.support_address}"] if created else []
    now = timezone.now()
    address = demo_support_address()
    lines = [f"Support team '{team.name}' at {address} (Mon–Fri 09:00–17:00 Europe/Berlin, holidays DE)"]

    # S10/S14: a complaint about earphones two months old, a reply chain by email.
    first = inbound.support_receive(
        mail_from="arthur.dent@example.org",
        rcpt_tos=[address],
        data=_mail(
            sender="Arthur Dent <arthur.dent@example.org>",
            subject="Earphones stopped working",
            message_id="<demo-1@example.org>",
            body="Good afternoon,\n\nthe left earphone of my Aria set has gone silent after two months.\n"
            "What can be done?\n\nArthur Dent",
        ),
        now=now - timedelta(hours=30),
    )
    conversation = first.conversation
    conversation.kind = Conversation.Kind.COMPLAINT
    conversation.save(update_fields=["kind"])
    inbound.support_receive(
        mail_from="arthur.dent@example.org",
        rcpt_tos=[address],
        data=_mail(
            sender="Arthur Dent <arthur.dent@example.org>",
            subject="Re: Earphones stopped working",
            message_id="<demo-2@example.org>",
            in_reply_to="<demo-1@example.org>",
            body="Also: the right one crackles now. Order R-10001, if that helps.",
        ),
        now=now - timedelta(hours=26),
    )
    lines.append(f"Email conversation [#{conversation.token}]: a complaint with a reply chain")

    # Mail that cannot be read is kept raw and shown to an agent.
    broken = (
        f"From: someone@example.net\r\nTo: {address}\r\nSubject: photo of the receipt\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
        "--lost-boundary\r\nContent-Type: text/plain\r\n\r\nreceipt attached\r\n--lost-boundary--\r\n"
    ).encode()
    kept = inbound.support_receive(
        mail_from="someone@example.net", rcpt_tos=[address], data=broken, now=now - timedelta(hours=3)
    )
    lines.append(f"Email conversation [#{kept.conversation.token}]: unreadable MIME, kept raw")

    # Chat: a customer asks for a person (S17).
    anna = _customer("email", "anna.weber@example.de") or services.customer_for_contact(
        email="anna.weber@example.de", name="Anna Weber", via="chat"
    )
    chat = services.conversation_open(
        customer=anna,
        channel="chat",
        subject="Lumen 13 does not charge",
        team=team,
        via="chat",
        now=now - timedelta(minutes=20),
    )
    services.message_receive(
        conversation=chat, body_text="Hallo, mein Lumen 13 lädt nicht mehr.", now=now - timedelta(minutes=20)
    )
    services.message_receive(
        conversation=chat,
        body_text="Ich möchte mit einem Mitarbeiter sprechen.",
        now=now - timedelta(minutes=19),
    )
    Conversation.objects.filter(pk=chat.pk).update(
        wants_human=True, queued_at=now - timedelta(minutes=19), handoff_count=1
    )
    lines.append(f"Chat conversation [#{chat.token}]: waiting for a person")

    # Phone: a call logged with its outcome.
    caller = anna.identifiers.filter(kind="phone").first()
    call = services.call_log(
        actor=None,
        phone=caller.value_normalised if caller else "+49 151 23456789",
        customer=anna if caller is None else None,
        notes="Charger tested with another phone: works. Cable replaced under warranty.",
        outcome="New cable sent",
        status="resolved",
        team=team,
        now=now - timedelta(days=3),
    )
    lines.append(f"Phone conversation [#{call.token}]: call logged, resolved")

    # The public contact form.
    form = services.form_submit(
        email="new.visitor@example.com",
        name="Sam Visitor",
        subject="Do you ship to Norway?",
        body_text="Hello, do you ship the Barista 500 to Norway?",
        now=now - timedelta(hours=1),
    )
    Conversation.objects.filter(pk=form.pk).update(team=team)
    lines.append(f"Web form conversation [#{form.token}]")
    return lines
