"""The agent's pages: the inbox, a conversation with the customer beside it, logging a call (C4)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from regard.consent import services as consent_services
from regard.customers.models import Customer
from regard.outreach.models import OutboxMessage
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from regard.support import inbound, services
from regard.support.models import Conversation, Message, Team
from tests.customers.factories import make_customer, make_order, unique

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(make_user: Any) -> Any:
    return make_user(Role.AGENT)


@pytest.fixture
def web(agent: Any) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def _email_conversation(customer: Customer | None = None, subject: str = "Broken earphones") -> Conversation:
    customer = customer or make_customer(identifiers=[("email", f"p{unique()}@example.org")])
    conversation = services.conversation_open(
        customer=customer, channel="email", subject=subject, via="email"
    )
    services.message_receive(conversation=conversation, body_text="The left one is silent.")
    return conversation


def test_logging_a_call_by_the_callers_number_finds_the_customer(web: Client, agent: Any) -> None:
    known = make_customer(preferred_name="Ada", identifiers=[("phone", "+49 30 1234567")])
    response = web.post(
        "/support/calls/new",
        {
            "phone": "+49 30 123 4567",
            "notes": "Headset crackles.",
            "outcome": "Replacement sent",
            "status": "resolved",
            "kind": "complaint",
            "direction": "in",
        },
    )
    assert response.status_code == 302
    conversation = Conversation.objects.get()
    assert response["Location"] == f"/support/c/{conversation.pk}/"
    assert (conversation.customer_id, conversation.channel, conversation.kind) == (
        known.pk,
        "phone",
        "complaint",
    )
    assert (conversation.status, conversation.outcome, conversation.assignee) == (
        "resolved",
        "Replacement sent",
        agent,
    )
    assert conversation.resolved_at is not None
    (note,) = conversation.messages.all()
    assert (note.direction, note.body_text) == (Message.Direction.NOTE, "Headset crackles.")

    page = web.get(response["Location"])
    assert b"Headset crackles." in page.content
    assert b"Replacement sent" in page.content


def test_an_unknown_caller_gets_a_profile_and_a_call_from_the_customer_page_needs_no_number(
    web: Client,
) -> None:
    web.post(
        "/support/calls/new",
        {"phone": "+44 20 7946 0018", "name": "Grace Hopper", "notes": "Asked about the warranty."},
    )
    stranger = Conversation.objects.get().customer
    assert stranger.identifiers.get().value_normalised == "+442079460018"

    ada = make_customer(preferred_name="Ada")
    assert b"Log a call" in web.get(f"/customers/{ada.pk}/").content
    form = web.get(f"/support/calls/new?customer={ada.pk}")
    assert b"with Ada" in form.content
    web.post(
        "/support/calls/new",
        {
            "customer": ada.pk,
            "notes": "Called back about the refund.",
            "direction": "out",
            "status": "waiting",
        },
    )
    call = Conversation.objects.get(customer=ada)
    assert (call.status, call.subject) == ("waiting", "Outgoing call")


def test_a_bad_call_is_refused_naming_the_field_and_changes_nothing(web: Client) -> None:
    customers = Customer.objects.count()
    bad_number = web.post("/support/calls/new", {"phone": "not a number", "notes": "x"})
    assert bad_number.status_code == 422
    assert b'data-field="phone"' in bad_number.content
    no_notes = web.post("/support/calls/new", {"phone": "+49 30 1234567", "notes": " "})
    assert no_notes.status_code == 422
    assert b'data-field="notes"' in no_notes.content
    bad_status = web.post("/support/calls/new", {"phone": "+49 30 1234567", "notes": "x", "status": "done"})
    assert b'data-field="status"' in bad_status.content
    assert not Conversation.objects.exists()
    assert Customer.objects.count() == customers


def test_the_conversation_page_puts_the_customer_first(web: Client, agent: Any) -> None:
    ada = make_customer(
        preferred_name="Ada",
        formality="informal",
        identifiers=[("email", "ada@example.org"), ("phone", "+49 30 555 0101")],
    )
    make_order(customer=ada, order_number="ORD-4711")
    consent_services.consent_grant(
        actor=agent, customer=ada, purpose="newsletter", channel="email", source="agent"
    )
    earlier = services.call_log(actor=agent, customer=ada, notes="First call", outcome="Explained pairing")
    conversation = _email_conversation(ada)

    page = web.get(f"/support/c/{conversation.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Hi Ada" in html
    assert "ada@example.org" in html
    assert "+49 30 555 0101" in html  # as she gave it
    assert "ORD-4711" in html
    assert "30 days old" in html
    assert f"/support/c/{earlier.pk}/" in html
    assert "Explained pairing" in html
    assert "newsletter by email: yes" in html
    assert "The left one is silent." in html
    assert AuditEntry.objects.filter(action="read", customer_id=ada.pk, object_type="conversation").exists()


def test_the_sidebar_reads_only_what_it_shows_however_long_the_history(web: Client, agent: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from regard.outreach import services as outreach_services

    def page_queries(customer: Customer) -> list[str]:
        conversation = _email_conversation(customer)
        with CaptureQueriesContext(connection) as captured:
            assert web.get(f"/support/c/{conversation.pk}/").status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    quiet = make_customer(identifiers=[("email", f"q{unique()}@example.org")])
    busy = make_customer(identifiers=[("email", f"b{unique()}@example.org")])
    make_order(customer=quiet, order_number=f"QUIET-{unique()}")  # an order each: lines are read once
    for n in range(30):
        make_order(customer=busy, order_number=f"BUSY-{unique()}")
        outreach_services.outbox_enqueue(
            customer=busy, kind="service", purpose="service", dedupe_key=f"busy-{n}-{unique()}", body="Hi"
        )
    quiet_queries, busy_queries = page_queries(quiet), page_queries(busy)
    assert len(busy_queries) == len(quiet_queries)
    # Customer 360's timeline and message list are a link away, not computed and thrown away.
    assert not [q for q in busy_queries if "customers_timelineevent" in q or "outreach_outboxmessage" in q]


def test_a_broken_mime_message_is_shown_to_the_agent_with_its_raw_text(web: Client, settings: Any) -> None:
    settings.REGARD_SUPPORT_ADDRESSES = ["help@shop.test"]
    broken = (
        b"From: Ada <ada@example.org>\r\nSubject: photo\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n<b>see attached</b>\r\n--x--\r\n"
    )
    message = inbound.support_receive(mail_from="ada@example.org", rcpt_tos=["help@shop.test"], data=broken)
    inbox = web.get("/support/")
    assert b"photo" in inbox.content
    page = web.get(f"/support/c/{message.conversation_id}/").content.decode()
    assert 'data-testid="parse-error"' in page
    assert "&lt;b&gt;see attached&lt;/b&gt;" in page  # raw text shown, escaped


def test_the_reply_box_shows_the_findings_and_sends_only_when_the_agent_overrides(web: Client) -> None:
    ada = make_customer(
        preferred_name="Ada", formality="informal", identifiers=[("email", "ada2@example.org")]
    )
    conversation = _email_conversation(ada)
    draft = "Hi Generic User,\n\nwe are sorry."
    stopped = web.post(f"/support/c/{conversation.pk}/reply", {"body": draft})
    assert stopped.status_code == 409
    assert b'data-code="generic_greeting"' in stopped.content
    assert b"Send anyway" in stopped.content
    assert not OutboxMessage.objects.exists()

    sent = web.post(f"/support/c/{conversation.pk}/reply", {"body": draft, "override": "1"})
    assert sent.status_code == 302
    reply = Message.objects.get(direction="out")
    assert reply.reply_check["overridden"] is True
    assert b'data-testid="override"' in web.get(f"/support/c/{conversation.pk}/").content

    empty = web.post(f"/support/c/{conversation.pk}/reply", {"body": ""})
    assert empty.status_code == 422
    assert Message.objects.filter(direction="out").count() == 1


def test_notes_assignment_and_status_from_the_page(web: Client, make_user: Any) -> None:
    colleague = make_user(Role.AGENT, username="bea")
    team = Team.objects.create(name="Returns", slug="returns")
    conversation = _email_conversation()
    web.post(f"/support/c/{conversation.pk}/note", {"body": "Check the serial number."})
    web.post(f"/support/c/{conversation.pk}/assign", {"assignee": "bea", "team": "returns"})
    web.post(f"/support/c/{conversation.pk}/status", {"status": "resolved", "outcome": "Refunded"})
    conversation.refresh_from_db()
    assert (conversation.assignee, conversation.team, conversation.status, conversation.outcome) == (
        colleague,
        team,
        "resolved",
        "Refunded",
    )
    assert conversation.messages.filter(direction="note", body_text="Check the serial number.").exists()
    bad = web.post(f"/support/c/{conversation.pk}/status", {"status": "done"})
    assert bad.status_code == 422
    unknown = web.post(f"/support/c/{conversation.pk}/assign", {"assignee": "nobody-here"})
    assert unknown.status_code == 422
    conversation.refresh_from_db()
    assert (conversation.status, conversation.assignee) == ("resolved", colleague)
    assert web.get("/support/c/999999/").status_code == 404


def test_the_inbox_filters_by_status_channel_team_and_assignee(web: Client, agent: Any) -> None:
    team = Team.objects.create(name="Returns", slug="returns")
    mail = _email_conversation(subject="Mail one")
    call = services.call_log(actor=agent, phone="+49 30 7654321", notes="n", status="open", team=team)
    done = _email_conversation(subject="Done one")
    services.conversation_set_status(actor=agent, conversation=done, status="resolved")

    def rows(**params: str) -> set[int]:
        response = web.get("/support/", params, headers={"HX-Request": "true"})
        assert response.status_code == 200
        return {int(v) for v in re.findall(r'data-conversation="(\d+)"', response.content.decode())}

    assert rows() == {mail.pk, call.pk}
    assert rows(status="resolved") == {done.pk}
    assert rows(status="") == {mail.pk, call.pk, done.pk}
    assert rows(channel="phone") == {call.pk}
    assert rows(team="returns") == {call.pk}
    assert rows(assignee="me") == {call.pk}
    assert rows(assignee="none") == {mail.pk}
    full = web.get("/support/").content.decode()
    assert 'id="live-inbox"' in full
    assert 'href="/support/"' in full
    assert web.get("/support/", {"status": "bogus"}).status_code == 422
    assert web.get("/support/", {"team": "nope"}).status_code == 422


def test_only_support_roles_see_the_desk(make_user: Any) -> None:
    conversation = _email_conversation()
    anonymous = Client()
    assert anonymous.get("/support/").status_code == 302
    marketer = Client()
    marketer.force_login(make_user(Role.MARKETER))
    for url in ("/support/", f"/support/c/{conversation.pk}/", "/support/calls/new"):
        assert marketer.get(url).status_code == 403, url
    assert marketer.post(f"/support/c/{conversation.pk}/note", {"body": "x"}).status_code == 403
    assert marketer.post("/support/calls/new", {"phone": "+49 30 1234567", "notes": "x"}).status_code == 403
    assert not Message.objects.filter(direction="note").exists()


def test_attachments_download_as_files_and_the_read_is_audited(web: Client, agent: Any) -> None:
    conversation = _email_conversation()
    message = services.message_receive(
        conversation=conversation,
        body_text="see attached",
        attachments=[services.AttachmentInput("page.html", "text/html", b"<script>alert(1)</script>")],
    )
    attachment = message.attachments.get()
    response = web.get(f"/support/attachments/{attachment.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="page.html"'
    assert AuditEntry.objects.filter(object_type="attachment", actor=agent).exists()
