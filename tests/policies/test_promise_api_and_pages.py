"""Promises over HTTP and on pages: role matrix, filters, bad input, the reply-check finding (C5, S22)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from regard.policies.models import Promise
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from regard.privacy.services import token_create
from regard.support import services as support_services
from regard.support.models import Conversation, Message, Team
from tests.conftest import ApiClient
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation() -> Conversation:
    team = Team.objects.create(name="Care", slug="care", time_zone="Europe/Berlin", country="DE")
    customer = make_customer(
        identifiers=[("email", "mika@example.org")], preferred_name="Mika", formality="informal"
    )
    return support_services.conversation_open(
        customer=customer, channel="email", kind="complaint", team=team, subject="No sound", via="test"
    )


def _api(user: Any) -> ApiClient:
    return ApiClient(token_create(username=user.get_username()).secret)


def _due(days: int = 2) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


def test_role_matrix_on_every_endpoint(
    api_for: Any, anonymous_api: ApiClient, conversation: Conversation
) -> None:
    body = {"customer_id": conversation.customer_id, "kind": "callback", "what": "Call", "due_at": _due()}
    analyst = api_for(Role.ANALYST)
    for client, status in ((anonymous_api, 401), (analyst, 403)):
        assert client.get("promises").status_code == status
        assert client.post("promises", body).status_code == status
        assert client.get("promises/1").status_code == status
        assert client.post("promises/1/kept", {}).status_code == status
        assert client.post("promises/1/withdraw", {"message": "x"}).status_code == status
    assert not Promise.objects.exists()


def test_create_list_filter_get_keep(make_user: Any, conversation: Conversation) -> None:
    agent = make_user(Role.AGENT)
    api = _api(agent)
    created = api.post(
        "promises",
        {"customer_id": conversation.customer_id, "conversation_id": conversation.pk, "kind": "callback",
         "what": "Call back about the earphones", "due_at": _due()},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    promise = created.json()
    assert promise["owner"] == agent.username
    assert promise["team"] == "care"
    assert promise["state"] == "open"
    assert [p["id"] for p in api.get("promises", state="open").json()] == [promise["id"]]
    assert api.get("promises", state="kept").json() == []
    assert api.get("promises", customer_id=conversation.customer_id).json()[0]["id"] == promise["id"]
    assert api.get("promises", due_before=_due(1)).json() == []
    assert len(api.get("promises", due_after=_due(1)).json()) == 1
    assert api.get("promises", owner="somebody-else").json() == []
    assert api.get(f"promises/{promise['id']}").json()["what"] == "Call back about the earphones"
    assert AuditEntry.objects.filter(
        action="read", object_type="promise", customer_id=conversation.customer_id
    ).exists()
    kept = api.post(f"promises/{promise['id']}/kept", {"note": "Called"})
    assert kept.status_code == 200
    assert kept.json()["state"] == "kept"
    again = api.post(f"promises/{promise['id']}/kept", {})
    assert again.status_code == 409
    assert again.json()["field"] == "state"
    # Someone outside the team sees nothing of it.
    assert _api(make_user(Role.AGENT)).get(f"promises/{promise['id']}").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"due_at": "2020-01-01T10:00:00+00:00"}, "due_at"),
        ({"owner": "nobody-here"}, "owner"),
        ({"kind": "bribe"}, "kind"),
        ({"conversation_id": "other"}, "conversation"),
    ],
)
def test_bad_input_is_4xx_naming_the_field_and_writes_nothing(
    agent_api: ApiClient, conversation: Conversation, change: dict[str, Any], field: str
) -> None:
    body: dict[str, Any] = {
        "customer_id": conversation.customer_id,
        "kind": "callback",
        "what": "Call",
        "due_at": _due(),
    }
    if change.get("conversation_id") == "other":
        other = make_customer()
        change = {"customer_id": other.pk, "conversation_id": conversation.pk}
    body.update(change)
    response = agent_api.post("promises", body)
    assert 400 <= response.status_code < 500
    assert response.json()["field"] == field
    assert not Promise.objects.exists()


def test_withdraw_over_the_api_sends_the_message(make_user: Any, conversation: Conversation) -> None:
    agent = make_user(Role.AGENT)
    api = _api(agent)
    promise = api.post(
        "promises",
        {"customer_id": conversation.customer_id, "conversation_id": conversation.pk, "kind": "shipment",
         "what": "Replacement ships", "due_at": _due()},
    ).json()  # fmt: skip
    missing = api.post(f"promises/{promise['id']}/withdraw", {"message": ""})
    assert missing.status_code == 422
    assert missing.json()["field"] == "message"
    done = api.post(
        f"promises/{promise['id']}/withdraw",
        {
            "message": "Hi Mika,\n\nI am sorry, the replacement is out of stock; I cannot ship it after all.",
            "override": True,
        },
    )
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "withdrawn"
    assert done.json()["settlement_message_id"] == Message.objects.get(direction="out").pk


def _login(make_user: Any, *roles: Role) -> tuple[Client, Any]:
    user = make_user(*roles)
    client = Client()
    client.force_login(user)
    return client, user


@pytest.mark.parametrize(
    "url", ["/policies/promises/", "/policies/promises/team/", "/policies/promises/overdue/"]
)
def test_pages_role_matrix(make_user: Any, url: str) -> None:
    assert Client().get(url).status_code == 302  # to the sign-in page
    analyst, _ = _login(make_user, Role.ANALYST)
    assert analyst.get(url).status_code == 403
    agent, _ = _login(make_user, Role.AGENT)
    assert agent.get(url).status_code == 200
    manager, _ = _login(make_user, Role.MANAGER)
    assert manager.get(url).status_code == 200


def test_write_pages_role_matrix(make_user: Any, conversation: Conversation) -> None:
    analyst, _ = _login(make_user, Role.ANALYST)
    assert analyst.post("/policies/promises/record/", {"conversation": conversation.pk}).status_code == 403
    assert analyst.post("/policies/promises/1/keep/").status_code == 403
    assert analyst.get("/policies/promises/1/withdraw/").status_code == 403
    assert Client().post("/policies/promises/record/").status_code == 302
    assert not Promise.objects.exists()


def test_the_reply_check_offers_to_record_a_promise_and_sending_without_is_an_override(
    make_user: Any, conversation: Conversation
) -> None:
    client, agent = _login(make_user, Role.AGENT)
    draft = "Hi Mika,\n\nWe'll call you back tomorrow."
    page = client.post(f"/support/c/{conversation.pk}/reply", {"body": draft})
    assert page.status_code == 409
    html = page.content.decode()
    assert 'data-code="promise_unrecorded"' in html
    assert "Record this promise" in html
    # One click records it (htmx), prefilled with what was read; the sidebar shows it open.
    finding = support_services.reply_findings(draft=draft, conversation=conversation)[0]
    recorded = client.post(
        "/policies/promises/record/",
        {"conversation": conversation.pk, "kind": finding["data"]["kind"], "what": finding["data"]["what"],
         "due_at": finding["data"]["due_local"], "from_finding": "1"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert recorded.status_code == 200
    assert 'data-testid="promise-recorded"' in recorded.content.decode()
    promise = Promise.objects.get()
    assert (promise.kind, promise.source, promise.owner) == ("callback", "reply_check", agent)
    # Recorded: the same draft no longer has the finding.
    assert support_services.reply_findings(draft=draft, conversation=conversation) == []
    detail = client.get(f"/support/c/{conversation.pk}/").content.decode()
    assert 'data-testid="open-promises"' in detail
    assert "call you back tomorrow" in detail


def test_sending_a_promise_without_recording_is_recorded_as_an_override(
    make_user: Any, conversation: Conversation
) -> None:
    agent = make_user(Role.AGENT)
    message = support_services.reply_send(
        actor=agent, conversation=conversation, body_text="Hi Mika,\n\nYour replacement ships within 3 days.",
        override=True,
    )  # fmt: skip
    assert message.reply_check["overridden"] is True
    assert [f["code"] for f in message.reply_check["findings"]] == ["promise_unrecorded"]
    assert not Promise.objects.exists()


def test_customer_360_shows_open_promises(make_user: Any, conversation: Conversation) -> None:
    client, agent = _login(make_user, Role.AGENT)
    from regard.policies import services

    services.promise_record(
        customer=conversation.customer, conversation=conversation, kind="callback", what="Call about sound",
        owner=agent, actor=agent, due_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    page = client.get(f"/customers/{conversation.customer_id}/").content.decode()
    assert "Call about sound" in page
    kept = client.post(f"/policies/promises/{Promise.objects.get().pk}/keep/", headers={"HX-Request": "true"})
    assert kept.status_code == 200
    assert "None open." in kept.content.decode()


def test_withdrawing_on_the_page_sends_the_message_and_lists_show_it(
    make_user: Any, conversation: Conversation
) -> None:
    client, agent = _login(make_user, Role.AGENT)
    from regard.policies import services

    promise = services.promise_record(
        customer=conversation.customer, conversation=conversation, kind="shipment", what="Ships Friday",
        owner=agent, actor=agent, due_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    assert "Ships Friday" in client.get("/policies/promises/").content.decode()
    assert "Ships Friday" not in client.get("/policies/promises/overdue/").content.decode()
    url = f"/policies/promises/{promise.pk}/withdraw/"
    assert client.get(url).status_code == 200
    empty = client.post(url, {"message": ""})
    assert empty.status_code == 422
    assert 'data-field="message"' in empty.content.decode()
    sent = client.post(
        url, {"message": "Hi Mika,\n\nI am sorry, it is out of stock and will not ship Friday."}
    )
    assert sent.status_code == 302
    promise.refresh_from_db()
    assert promise.state == "withdrawn"
    assert promise.settlement_message is not None
    assert "withdrawn" in client.get("/policies/promises/?state=withdrawn").content.decode()
    assert client.post(url, {"message": "again"}).status_code == 409
