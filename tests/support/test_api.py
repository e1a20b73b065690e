"""The support API: conversations, messages, assignment, status and calls; roles, audit, bad input (C4)."""

from __future__ import annotations

from typing import Any

import pytest

from regard.customers.models import Customer
from regard.outreach.models import OutboxMessage
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from regard.support import services
from regard.support.models import Conversation, Message, Team
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int, int]:
    return (
        Conversation.objects.count(),
        Message.objects.count(),
        Customer.objects.count(),
        OutboxMessage.objects.count(),
    )


def test_an_agent_opens_lists_reads_and_works_a_conversation(agent_api: Any, make_user: Any) -> None:
    make_user(Role.AGENT, username="bea")
    Team.objects.create(name="Returns", slug="returns")
    ada = make_customer(
        preferred_name="Ada", formality="informal", identifiers=[("email", "ada@example.org")]
    )
    created = agent_api.post(
        "conversations",
        {
            "email": "ada@example.org",
            "channel": "email",
            "kind": "complaint",
            "subject": "Broken",
            "message": "The left one is silent.",
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["customer_id"], body["kind"], body["customer_message_count"]) == (ada.pk, "complaint", 1)
    assert body["messages"][0]["body_text"] == "The left one is silent."
    conversation_id = body["id"]

    listed = agent_api.get("conversations", status="new").json()
    assert [c["id"] for c in listed["items"]] == [conversation_id]
    assert listed["total"] == 1

    note = agent_api.post(
        f"conversations/{conversation_id}/messages", {"type": "note", "body": "Check serial."}
    )
    assert (note.status_code, note.json()["direction"]) == (201, "note")
    stopped = agent_api.post(
        f"conversations/{conversation_id}/messages", {"type": "reply", "body": "Hi Generic User, sorry."}
    )
    assert stopped.status_code == 409
    assert stopped.json()["field"] == "body"
    assert "generic_greeting" in [f["code"] for f in stopped.json()["findings"]]
    reply = agent_api.post(
        f"conversations/{conversation_id}/messages",
        {"type": "reply", "body": "Hi Ada,\n\na new pair is on its way."},
    )
    assert reply.status_code == 201, reply.json()
    assert reply.json()["outbox_state"] == "pending"

    assigned = agent_api.post(
        f"conversations/{conversation_id}/assign", {"assignee": "bea", "team": "returns"}
    )
    assert (assigned.json()["assignee"], assigned.json()["team"]) == ("bea", "returns")
    resolved = agent_api.post(
        f"conversations/{conversation_id}/status", {"status": "resolved", "outcome": "Replaced"}
    )
    assert (resolved.json()["status"], resolved.json()["outcome"]) == ("resolved", "Replaced")
    assert resolved.json()["resolved_at"] is not None

    detail = agent_api.get(f"conversations/{conversation_id}").json()
    assert [m["direction"] for m in detail["messages"]] == ["in", "note", "out"]
    assert detail["first_response_at"] is not None
    assert (
        AuditEntry.objects.filter(
            action="read", customer_id=ada.pk, object_type="conversation", via="api"
        ).count()
        >= 2
    )


def test_a_call_is_logged_by_number(agent_api: Any) -> None:
    known = make_customer(identifiers=[("phone", "+49 30 1234567")])
    response = agent_api.post(
        "calls",
        {"phone": "+49301234567", "notes": "Asked about warranty", "outcome": "Explained"},
    )
    assert response.status_code == 201
    assert (response.json()["customer_id"], response.json()["channel"], response.json()["status"]) == (
        known.pk,
        "phone",
        "resolved",
    )


@pytest.mark.parametrize(
    ("path", "payload", "status", "field"),
    [
        ("conversations", {"email": "not an address"}, 422, "email"),
        ("conversations", {}, 422, "email"),
        ("conversations", {"customer_id": 999999}, 404, "customer_id"),
        ("conversations", {"email": "a@example.org", "kind": "rant"}, 422, "kind"),
        ("conversations", {"email": "a@example.org", "channel": "fax"}, 422, "channel"),
        ("conversations", {"email": "a@example.org", "team": "nope"}, 422, "team"),
        ("conversations/999999/messages", {"type": "note", "body": "x"}, 404, "conversation_id"),
        ("conversations/{id}/messages", {"type": "shout", "body": "x"}, 422, "type"),
        ("conversations/{id}/messages", {"type": "note", "body": "  "}, 422, "body"),
        ("conversations/{id}/status", {"status": "done"}, 422, "status"),
        ("conversations/999999/status", {"status": "open"}, 404, "conversation_id"),
        ("conversations/{id}/assign", {"assignee": "nobody-here"}, 422, "assignee"),
        ("calls", {"phone": "not a number", "notes": "x"}, 422, "phone"),
        ("calls", {"notes": "x"}, 422, "phone"),
        ("calls", {"phone": "+49301234567"}, 422, "notes"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    agent_api: Any, path: str, payload: dict[str, Any], status: int, field: str
) -> None:
    conversation = services.conversation_open(customer=make_customer(), channel="email", via="api")
    before = _counts()
    response = agent_api.post(path.replace("{id}", str(conversation.pk)), payload)
    assert response.status_code == status, response.json()
    assert response.json()["field"] == field
    assert _counts() == before
    conversation.refresh_from_db()
    assert (conversation.status, conversation.assignee_id) == ("new", None)


def test_bad_list_filters_name_the_field(agent_api: Any) -> None:
    for params, field in (
        ({"status": "bogus"}, "status"),
        ({"channel": "fax"}, "channel"),
        ({"limit": 0}, "limit"),
        ({"assignee": "ghost"}, "assignee"),
    ):
        response = agent_api.get("conversations", **params)
        assert response.status_code == 422
        assert response.json()["field"] == field
    assert agent_api.get("conversations/999999").status_code == 404


def test_marketers_and_analysts_cannot_read_or_write_conversations(api_for: Any) -> None:
    conversation = services.conversation_open(customer=make_customer(), channel="email", via="api")
    for role in (Role.MARKETER, Role.ANALYST, Role.PARTNER):
        client = api_for(role)
        assert client.get("conversations").status_code == 403
        assert client.get(f"conversations/{conversation.pk}").status_code == 403
        assert (
            client.post(
                f"conversations/{conversation.pk}/messages", {"type": "note", "body": "x"}
            ).status_code
            == 403
        )
        assert client.post("webhooks", {"url": "http://127.0.0.1:1/hook"}).status_code == 403
    assert not Message.objects.exists()
    assert not AuditEntry.objects.filter(action="read", object_type="conversation").exists()


def test_only_admins_manage_webhooks_and_bad_ones_name_the_field(
    admin_api: Any, agent_api: Any, settings: Any
) -> None:
    settings.REGARD_WEBHOOKS_ALLOW_PRIVATE = False
    refused = admin_api.post("webhooks", {"url": "http://127.0.0.1:9/hook"})
    assert (refused.status_code, refused.json()["field"]) == (422, "url")
    settings.REGARD_WEBHOOKS_ALLOW_PRIVATE = True  # a local receiver, as in development
    assert agent_api.get("webhooks").status_code == 403
    created = admin_api.post(
        "webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["conversation.created"]}
    )
    assert created.status_code == 201
    assert len(created.json()["secret"]) == 64
    assert "secret" not in admin_api.get("webhooks").json()[0]
    for payload, field in (
        ({"url": "ftp://x"}, "url"),
        ({"url": "http://x/", "events": ["conversation.created", "nope"]}, "events[1]"),
        ({"url": "http://x/", "secret": "short"}, "secret"),
    ):
        response = admin_api.post("webhooks", payload)
        assert (response.status_code, response.json()["field"]) == (422, field)
    assert len(admin_api.get("webhooks").json()) == 1
