"""Agent replies: the reply check first, then the outbox with threading headers (C4, invariant 1)."""

from __future__ import annotations

from typing import Any

import pytest

from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import OutboxMessage
from regard.privacy.roles import Role
from regard.support import inbound, services
from regard.support.models import Conversation, Message, Team
from tests.customers.factories import make_customer
from tests.outreach.conftest import Recorder, _mail_settings, sender, smtp_server  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
SUPPORT = "help@shop.test"


@pytest.fixture(autouse=True)
def _support(settings: Any) -> None:
    settings.REGARD_SUPPORT_ADDRESSES = [SUPPORT]


def _first_mail(**profile: Any) -> Conversation:
    make_customer(identifiers=[("email", "ada@example.org")], **profile)
    data = (
        b"From: Ada Lovelace <ada@example.org>\r\nTo: help@shop.test\r\nSubject: Broken earphones\r\n"
        b"Message-ID: <first@example.org>\r\n\r\nThe left one is silent.\r\n"
    )
    return inbound.support_receive(mail_from="ada@example.org", rcpt_tos=[SUPPORT], data=data).conversation


def test_a_reply_goes_out_through_the_outbox_threaded_and_the_answer_comes_back_to_the_conversation(
    request: pytest.FixtureRequest, make_user: Any
) -> None:
    relay: tuple[Recorder, str] = request.getfixturevalue("smtp_server")
    smtp_sender = request.getfixturevalue("sender")
    agent = make_user(Role.AGENT)
    conversation = _first_mail(preferred_name="Ada", formality="informal")
    reply = services.reply_send(
        actor=agent,
        conversation=conversation,
        body_text="Hi Ada,\n\nA new pair is on its way. {{ not a template }}",
    )
    row = OutboxMessage.objects.get()
    assert reply.outbox_message == row
    assert (row.kind, row.purpose) == ("service", "service")

    assert dispatch_batch(sender=smtp_sender)["sent"] == 1
    recorder, _ = relay
    (received,) = recorder.to("ada@example.org")
    sent = received.message
    assert sent["Message-ID"] == reply.message_id == OutboxMessage.objects.get().message_id
    assert sent["In-Reply-To"] == "<first@example.org>"
    assert sent["References"].split() == ["<first@example.org>"]
    assert sent["Reply-To"] == SUPPORT
    assert sent["Subject"] == f"Re: Broken earphones [#{conversation.token}]"
    assert "{{ not a template }}" in sent.get_payload(decode=True).decode()

    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.WAITING
    assert conversation.first_response_at == reply.created_at
    assert conversation.awaiting_reply_since is None
    assert conversation.assignee == agent

    answer = (
        b"From: ada@example.org\r\nTo: help@shop.test\r\nSubject: Re: Broken earphones\r\n"
        b"Message-ID: <second@example.org>\r\nIn-Reply-To: " + reply.message_id.encode() + b"\r\n"
        b"References: <first@example.org> " + reply.message_id.encode() + b"\r\n\r\nThanks, it arrived.\r\n"
    )
    back = inbound.support_receive(mail_from="ada@example.org", rcpt_tos=[SUPPORT], data=answer)
    assert back.conversation_id == conversation.pk
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN


def test_the_reply_check_stops_a_generic_greeting_until_the_agent_overrides_and_the_override_is_kept(
    make_user: Any,
) -> None:
    agent = make_user(Role.AGENT)
    conversation = _first_mail(preferred_name="Ada", formality="informal")
    draft = "Hi Generic User,\n\nplease send us a video of the problem."
    with pytest.raises(services.ReplyNeedsReview) as stopped:
        services.reply_send(actor=agent, conversation=conversation, body_text=draft)
    codes = [f["code"] for f in stopped.value.details["findings"]]  # type: ignore[attr-defined]
    assert "generic_greeting" in codes
    assert not OutboxMessage.objects.exists()
    assert not Message.objects.filter(direction="out").exists()

    sent = services.reply_send(actor=agent, conversation=conversation, body_text=draft, override=True)
    assert sent.reply_check["overridden"] is True
    assert "generic_greeting" in [f["code"] for f in sent.reply_check["findings"]]
    assert OutboxMessage.objects.count() == 1


def test_an_empty_reply_is_refused_naming_the_body(make_user: Any) -> None:
    conversation = _first_mail()
    with pytest.raises(services.InvalidInput) as error:
        services.reply_send(actor=make_user(Role.AGENT), conversation=conversation, body_text="  ")
    assert error.value.field == "body"
    assert not OutboxMessage.objects.exists()


def test_a_teams_address_is_the_reply_to_and_a_chat_reply_needs_no_outbox(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    team = Team.objects.create(name="Returns", slug="returns", support_address="returns@shop.test")
    conversation = _first_mail()
    conversation.team = team
    conversation.save()
    services.reply_send(actor=agent, conversation=conversation, body_text="Hello,\n\nthe label is attached.")
    assert OutboxMessage.objects.get().context["reply_to"] == "returns@shop.test"

    chat = services.conversation_open(customer=conversation.customer, channel="chat", via="chat")
    message = services.reply_send(actor=agent, conversation=chat, body_text="Hello, how can I help?")
    assert message.outbox_message is None
    assert OutboxMessage.objects.count() == 1


def test_threading_headers_take_only_well_formed_ids_and_addresses() -> None:
    from regard.outreach.mime import threading_headers

    assert threading_headers(
        {
            "in_reply_to": "<a@x>\r\nBcc: victim@example.org",
            "references": ["<a@x>", "bad", "<b@y>"],
            "reply_to": "x@y.z\r\nX: 1",
        }
    ) == [("References", "<a@x>\r\n <b@y>")]
    assert threading_headers({}) == []


def test_a_reply_goes_to_the_customers_own_address_they_last_wrote_from_and_never_to_a_stranger(
    request: pytest.FixtureRequest, make_user: Any
) -> None:
    relay: tuple[Recorder, str] = request.getfixturevalue("smtp_server")
    smtp_sender = request.getfixturevalue("sender")
    recorder, _ = relay
    agent = make_user(Role.AGENT)
    make_customer(identifiers=[("email", "ada@example.org"), ("email", "Ada@Work.example")])
    data = (
        b"From: Ada <Ada@Work.example>\r\nTo: help@shop.test\r\nSubject: Broken earphones\r\n"
        b"Message-ID: <w1@work.example>\r\n\r\nThe left one is silent.\r\n"
    )
    conversation = inbound.support_receive(
        mail_from="ada@work.example", rcpt_tos=[SUPPORT], data=data
    ).conversation
    services.reply_send(
        actor=agent, conversation=conversation, body_text="Dear Ada, a new pair is coming.", override=True
    )
    assert dispatch_batch(sender=smtp_sender)["sent"] == 1
    assert len(recorder.to("ada@work.example")) == 1
    assert recorder.to("ada@example.org") == []
    assert OutboxMessage.objects.get().to_address == "ada@work.example"

    # Someone else answers in the thread: that address is not the customer's, so it is not used.
    stranger = (
        b"From: mallory@elsewhere.example\r\nTo: help@shop.test\r\nSubject: Re: Broken earphones\r\n"
        b"Message-ID: <s1@elsewhere.example>\r\nIn-Reply-To: <w1@work.example>\r\n\r\nSend it to me.\r\n"
    )
    inbound.support_receive(mail_from="mallory@elsewhere.example", rcpt_tos=[SUPPORT], data=stranger)
    services.reply_send(
        actor=agent, conversation=conversation, body_text="Dear Ada, it ships today.", override=True
    )
    assert dispatch_batch(sender=smtp_sender)["sent"] == 1
    assert recorder.to("mallory@elsewhere.example") == []
    assert len(recorder.to("ada@example.org")) == 1
