"""Conversations shared by every channel: who the customer is, what a message does, merges (C4)."""

from __future__ import annotations

from typing import Any

import pytest

from regard.customers import services as customer_services
from regard.customers.models import Customer, TimelineEvent
from regard.errors import Conflict, InvalidInput
from regard.privacy.roles import Role
from regard.support import hooks, services
from regard.support.models import Conversation, Message, SlaPolicy
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db


def test_a_known_sender_is_attached_by_email_and_an_unknown_one_gets_a_new_profile() -> None:
    known = make_customer(identifiers=[("email", "ada@example.org")])
    assert services.customer_for_contact(email=" Ada@Example.org ", via="email").pk == known.pk

    stranger = services.customer_for_contact(email="new.person@example.org", name="Grace Hopper", via="email")
    assert stranger.pk != known.pk
    assert (stranger.given_name, stranger.family_name) == ("Grace", "Hopper")
    assert list(stranger.identifiers.values_list("kind", "value_normalised")) == [
        ("email", "new.person@example.org")
    ]


def test_a_caller_is_recognised_by_phone_and_a_claimed_number_is_not_added_to_someone_else() -> None:
    known = make_customer(identifiers=[("phone", "+49 30 1234567")])
    assert services.customer_for_contact(phone="+4930 123 4567", via="phone").pk == known.pk

    owner = make_customer(identifiers=[("email", "owner@example.org")])
    found = services.customer_for_contact(email="owner@example.org", phone="+44 20 7946 0000", via="form")
    assert found.pk == owner.pk
    assert not owner.identifiers.filter(kind="phone").exists()


def test_no_contact_or_a_bad_address_is_refused_naming_the_field() -> None:
    before = Customer.objects.count()
    with pytest.raises(InvalidInput) as empty:
        services.customer_for_contact(via="form")
    assert empty.value.field == "email"
    with pytest.raises(InvalidInput) as bad:
        services.customer_for_contact(email="not an address", via="form")
    assert bad.value.field == "email"
    assert Customer.objects.count() == before


def test_opening_a_conversation_lands_on_the_timeline_and_bad_choices_name_their_field() -> None:
    customer = make_customer()
    conversation = services.conversation_open(
        customer=customer, channel="email", kind="complaint", subject="  Broken   earphones ", via="email"
    )
    assert conversation.status == Conversation.Status.NEW
    assert conversation.subject == "Broken earphones"
    assert len(conversation.token) >= 12
    assert TimelineEvent.objects.filter(customer=customer, kind="conversation.opened").count() == 1
    for field, kwargs in (
        ("channel", {"channel": "fax"}),
        ("kind", {"kind": "rant"}),
        ("priority", {"priority": "x"}),
    ):
        with pytest.raises(InvalidInput) as error:
            services.conversation_open(customer=customer, via="api", **{"channel": "email", **kwargs})
        assert error.value.field == field
    assert Conversation.objects.filter(customer=customer).count() == 1


def test_a_customer_message_counts_waits_for_an_answer_and_reopens_a_resolved_conversation(
    make_user: Any,
) -> None:
    agent = make_user(Role.AGENT)
    conversation = services.conversation_open(customer=make_customer(), channel="email", via="email")
    first = services.message_receive(conversation=conversation, body_text="Hello?", message_id="<a@x>")
    conversation.refresh_from_db()
    assert conversation.customer_message_count == 1
    assert conversation.awaiting_reply_since == first.created_at
    services.message_receive(conversation=conversation, body_text="Anyone?")
    conversation.refresh_from_db()
    assert conversation.awaiting_reply_since == first.created_at  # still the first unanswered one

    services.conversation_set_status(actor=agent, conversation=conversation, status="resolved")
    conversation.refresh_from_db()
    assert conversation.resolved_at is not None
    services.message_receive(conversation=conversation, body_text="It broke again.")
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN
    assert conversation.reopen_count == 1
    assert conversation.resolved_at is None
    assert conversation.customer_message_count == 3


def test_a_note_is_internal_and_an_empty_note_changes_nothing(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    conversation = services.conversation_open(customer=make_customer(), channel="phone", via="web")
    note = services.note_add(actor=agent, conversation=conversation, body_text=" Called back, no answer. ")
    assert (note.direction, note.author, note.body_text) == (
        Message.Direction.NOTE,
        agent,
        "Called back, no answer.",
    )
    with pytest.raises(InvalidInput) as error:
        services.note_add(actor=agent, conversation=conversation, body_text="   ")
    assert error.value.field == "body"
    assert conversation.messages.count() == 1


def test_status_changes_are_checked_and_resolution_is_told_once(
    make_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    agent = make_user(Role.AGENT)
    seen: list[tuple[str, int, int | None]] = []
    hooks.register_conversation_event(lambda *args: seen.append(args))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            conversation = services.conversation_open(customer=make_customer(), channel="email", via="api")
        with pytest.raises(InvalidInput) as bad:
            services.conversation_set_status(actor=agent, conversation=conversation, status="done")
        assert bad.value.field == "status"
        with django_capture_on_commit_callbacks(execute=True):
            services.conversation_set_status(actor=agent, conversation=conversation, status="resolved")
        with django_capture_on_commit_callbacks(execute=True):
            services.conversation_set_status(actor=agent, conversation=conversation, status="closed")
        with pytest.raises(Conflict):
            services.conversation_set_status(actor=agent, conversation=conversation, status="new")
    finally:
        hooks._hooks.pop()
    events = [event for event, pk, _ in seen if pk == conversation.pk]
    assert events[0] == "conversation.created"
    assert events.count("conversation.resolved") == 1


def test_a_failing_hook_does_not_undo_the_write(django_capture_on_commit_callbacks: Any) -> None:
    calls: list[str] = []

    def broken(event: str, *args: Any) -> None:
        calls.append(event)
        raise RuntimeError("boom")

    hooks.register_conversation_event(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            conversation = services.conversation_open(customer=make_customer(), channel="chat", via="chat")
        assert calls == ["conversation.created"]
    finally:
        hooks._hooks.remove(broken)
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_conversations_follow_a_merge_and_come_back_on_undo(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    survivor, absorbed = make_customer(), make_customer()
    mine = services.conversation_open(customer=survivor, channel="email", via="email")
    theirs = services.conversation_open(customer=absorbed, channel="phone", via="web")

    merge = customer_services.customer_merge(survivor=survivor, absorbed=absorbed, actor=agent)
    assert set(Conversation.objects.filter(customer=survivor).values_list("pk", flat=True)) == {
        mine.pk,
        theirs.pk,
    }
    assert merge.moved["support.conversation.customer"] == [theirs.pk]
    # A message to a conversation of the absorbed profile now lands with the survivor.
    assert services.customer_for_contact(email="x@example.org", via="email").pk not in (
        survivor.pk,
        absorbed.pk,
    )

    customer_services.merge_undo(merge=merge, actor=agent)
    assert list(Conversation.objects.filter(customer=absorbed).values_list("pk", flat=True)) == [theirs.pk]


def test_default_sla_policies_answer_complaints_within_one_working_day() -> None:
    complaint = SlaPolicy.objects.get(team=None, kind="complaint", priority="")
    assert complaint.first_response_minutes == 480
    assert complaint.warn_at_percent == 80
    assert SlaPolicy.objects.filter(team=None, kind="", priority="").exists()
