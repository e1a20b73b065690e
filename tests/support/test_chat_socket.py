"""Live chat through the real ASGI application and Channels' communicator (C4, S17, S20)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client

from regard.config.asgi import application
from regard.consent.models import ConsentEvent
from regard.customers.models import Customer, TimelineEvent
from regard.privacy.roles import Role
from regard.support import services
from regard.support.identity import identity_token
from regard.support.models import ChatSite, Conversation, Message
from tests.customers.factories import make_customer

# Hooks run after commit and the consumers use their own database connections: real transactions.
pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"https://shop.example.com"
SECRET = "shop-secret-0123456789"


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    # Each test runs its own event loop; the in-memory layer must not keep queues of an old one.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def site(db: None) -> ChatSite:
    return ChatSite.objects.create(
        name="Demo shop", key="shop-key-1", secret=SECRET, allowed_origins=[ORIGIN.decode()]
    )


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async def scenario_then_close() -> None:
        try:
            await scenario()
        finally:
            # The consumers' connections live in the thread they ran in: close them there.
            await database_sync_to_async(connections.close_all)()

    # In a thread of its own: a browser test earlier in the run may leave an event loop in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(async_to_sync(scenario_then_close)).result()


def customer_socket(key: str = "shop-key-1", origin: bytes = ORIGIN) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application,
        f"/ws/support/chat/?key={key}",
        headers=[(b"origin", origin), (b"user-agent", b"Mozilla/5.0 (test)")],
    )


def agent_socket(user: User | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver")]
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return WebsocketCommunicator(application, "/ws/support/inbox/", headers=headers)


async def hello(socket: WebsocketCommunicator, **fields: Any) -> dict[str, Any]:
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to({"type": "hello", **fields})
    return dict(await socket.receive_json_from(timeout=5))


async def receive_until(socket: WebsocketCommunicator, kind: str, **match: Any) -> dict[str, Any]:
    """The next frame of this type (and these fields), skipping others."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        frame = dict(await socket.receive_json_from(timeout=5))
        if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame
    raise AssertionError(f"no {kind} frame")


def counts() -> tuple[int, ...]:
    return (
        Customer.objects.count(),
        Conversation.objects.count(),
        Message.objects.count(),
        TimelineEvent.objects.count(),
        ConsentEvent.objects.count(),
    )


def test_a_signed_in_customer_is_recognised_and_their_message_lands_on_their_timeline(site: ChatSite) -> None:
    ingrid = make_customer(
        preferred_name="Ingrid", formality="informal", identifiers=[("email", "ingrid@example.org")]
    )
    token = identity_token(
        secret=SECRET, kind="email", value="Ingrid@Example.org", expires=int(time.time()) + 600
    )

    async def scenario() -> None:
        socket = customer_socket()
        welcome = await hello(socket, identity=token)
        assert welcome["identified"] is True
        assert welcome["greeting"] == "Hi Ingrid"
        assert welcome["ask_email"] is False  # S20: never asked who they are
        await socket.send_json_to({"type": "message", "text": "My earphones stopped charging"})
        echoed = await receive_until(socket, "message")
        assert echoed["text"] == "My earphones stopped charging"
        await socket.disconnect()

    run(scenario)
    conversation = Conversation.objects.get()
    assert (conversation.customer_id, conversation.channel, conversation.chat_site_id) == (
        ingrid.pk,
        "chat",
        site.pk,
    )
    assert conversation.messages.get().body_text == "My earphones stopped charging"
    kinds = set(TimelineEvent.objects.filter(customer=ingrid).values_list("kind", flat=True))
    assert {"conversation.opened", "conversation.message_received"} <= kinds
    assert Customer.objects.count() == 1  # no second profile for a recognised visitor


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(
            lambda: identity_token(
                secret="guessed", kind="email", value="ceo@example.org", expires=int(time.time()) + 600
            ),
            id="forged",
        ),
        pytest.param(
            lambda: identity_token(
                secret=SECRET, kind="email", value="ceo@example.org", expires=int(time.time()) - 1
            ),
            id="expired",
        ),
        pytest.param(lambda: "v1.email.garbage", id="malformed"),
    ],
)
def test_a_bad_identity_token_is_refused_with_a_reason_and_changes_nothing(
    site: ChatSite, make_token: Callable[[], str]
) -> None:
    make_customer(identifiers=[("email", "ceo@example.org")])
    before = counts()

    async def scenario() -> None:
        socket = customer_socket()
        error = await hello(socket, identity=make_token())
        assert error["type"] == "error"
        assert error["field"] == "identity"
        assert error["detail"].startswith("identity: ")
        closed = await socket.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}

    run(scenario)
    assert counts() == before


def test_an_unknown_key_or_a_foreign_origin_is_refused(site: ChatSite) -> None:
    async def scenario() -> None:
        for socket, field in (
            (customer_socket(key="nope"), "key"),
            (customer_socket(origin=b"https://evil.example.net"), "origin"),
        ):
            connected, _ = await socket.connect()
            assert connected
            error = await socket.receive_json_from(timeout=5)
            assert (error["type"], error["field"]) == ("error", field)
            assert (await socket.receive_output(timeout=5))["type"] == "websocket.close"

    run(scenario)
    assert Conversation.objects.count() == 0


def test_bad_frames_get_an_error_naming_the_field_and_change_nothing(site: ChatSite) -> None:
    before = counts()

    async def scenario() -> None:
        socket = customer_socket()
        await socket.connect()
        await socket.send_json_to({"type": "message", "text": "too early"})
        assert (await socket.receive_json_from(timeout=5))["detail"] == "type: send 'hello' first."
        await socket.send_json_to({"type": "hello"})
        await receive_until(socket, "welcome")
        for frame, field in (
            ([1, 2], "type"),
            ({"type": "dance"}, "type"),
            ({"type": "message", "text": "   "}, "text"),
            ({"type": "message", "text": 42}, "text"),
            ({"type": "message", "text": "x" * 5000}, "text"),
        ):
            await socket.send_json_to(frame)
            error = await socket.receive_json_from(timeout=5)
            assert (error["type"], error["field"]) == ("error", field), frame
        await socket.disconnect()

    run(scenario)
    assert counts() == before


def test_operator_hands_over_at_once_shows_the_place_in_line_and_reaches_the_agent_live(
    site: ChatSite, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT)

    async def scenario() -> None:
        inbox = agent_socket(agent)
        connected, _ = await inbox.connect()
        assert connected
        assert (await inbox.receive_json_from(timeout=5))["type"] == "inbox"

        first = customer_socket()
        await hello(first)
        await first.send_json_to({"type": "message", "text": "Where is my parcel?"})
        place = await receive_until(first, "queue")
        assert place["queue"]["position"] == 1
        created = await receive_until(inbox, "event", event="conversation.created")
        assert created["conversation"]["channel"] == "chat"

        second = customer_socket()
        welcome = await hello(second)
        assert welcome["agents_online"] == 1
        await second.send_json_to({"type": "message", "text": "OPERATOR!!"})
        place = await receive_until(second, "queue")
        assert place["queue"]["position"] == 2
        assert place["queue"]["waiting"] == 2
        assert "number 2 in line for a person" in place["queue"]["text"]
        assert "Estimated wait: unknown." in place["queue"]["text"]  # no history: no invented figure

        handoff = await receive_until(inbox, "event", event="conversation.handoff")
        assert handoff["conversation"]["wants_human"] is True
        assert handoff["conversation"]["position"] == 2

        # The first customer is resolved: the second moves up, live.
        first_conversation = await database_sync_to_async(
            Conversation.objects.filter(messages__body_text="Where is my parcel?").get
        )()
        await database_sync_to_async(services.conversation_set_status)(
            actor=agent, conversation=first_conversation, status="resolved"
        )
        moved = await receive_until(second, "queue")
        assert moved["queue"]["position"] == 1
        for socket in (first, second, inbox):
            await socket.disconnect()

    run(scenario)
    handed = Conversation.objects.get(messages__body_text="OPERATOR!!")
    assert (handed.wants_human, handed.handoff_count) == (True, 1)
    assert TimelineEvent.objects.filter(customer=handed.customer, kind="conversation.handoff").exists()


def test_the_talk_to_a_person_button_hands_over_before_a_word_is_typed(site: ChatSite) -> None:
    async def scenario() -> None:
        socket = customer_socket()
        await hello(socket)
        await socket.send_json_to({"type": "handoff"})
        place = await receive_until(socket, "queue")
        assert place["queue"]["position"] == 1
        await socket.disconnect()

    run(scenario)
    conversation = Conversation.objects.get()
    assert (conversation.wants_human, conversation.handoff_count, conversation.channel) == (True, 1, "chat")


@pytest.mark.parametrize(
    "roles", [(), (Role.MARKETER,), (Role.ANALYST,)], ids=["anonymous", "marketer", "analyst"]
)
def test_only_agents_can_open_the_live_inbox(make_user: Callable[..., User], roles: tuple[Role, ...]) -> None:
    user = make_user(*roles) if roles else None

    async def scenario() -> None:
        socket = agent_socket(user)
        connected, code = await socket.connect()
        assert (connected, code) == (False, 4403)
        await socket.wait()

    run(scenario)


def test_the_inbox_refuses_another_sites_origin_even_with_an_agents_cookie(
    make_user: Callable[..., User],
) -> None:
    agent = make_user(Role.AGENT)
    client = Client()
    client.force_login(agent)
    socket = WebsocketCommunicator(
        application,
        "/ws/support/inbox/",
        headers=[
            (b"origin", b"https://evil.example.net"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ],
    )

    async def scenario() -> None:
        connected, _ = await socket.connect()
        assert not connected

    run(scenario)


def test_nobody_online_the_chat_becomes_email_with_recorded_consent(site: ChatSite) -> None:
    async def scenario() -> None:
        socket = customer_socket()
        welcome = await hello(socket)
        assert welcome["agents_online"] == 0
        assert "email" in welcome["notice"]
        assert "person" in welcome["notice"]
        before = await database_sync_to_async(counts)()
        await socket.send_json_to(
            {"type": "offline", "text": "Please call me back", "email": "a@example.org"}
        )
        error = await socket.receive_json_from(timeout=5)
        assert (error["type"], error["field"]) == ("error", "consent")
        await socket.send_json_to(
            {"type": "offline", "text": "Hi", "email": "not-an-address", "consent": True}
        )
        assert (await socket.receive_json_from(timeout=5))["field"] == "email"
        assert await database_sync_to_async(counts)() == before
        await socket.send_json_to(
            {"type": "offline", "text": "Please call me back", "email": "Ana@Example.org", "consent": True}
        )
        received = await receive_until(socket, "offline_received")
        assert "person" in received["text"]
        await socket.disconnect()

    run(scenario)
    conversation = Conversation.objects.get()
    assert conversation.channel == "email"
    assert conversation.messages.get().sender_address == "ana@example.org"
    consent = ConsentEvent.objects.get(customer=conversation.customer)
    assert (consent.purpose, consent.channel, consent.action, consent.source) == (
        "service",
        "email",
        "granted",
        "form",
    )
    assert consent.proof["form_text_version"] == "chat-offline-email-1"
    assert "ana@example.org" in consent.proof["note"]
    assert consent.proof["user_agent"] == "Mozilla/5.0 (test)"


def test_an_identified_customer_is_not_asked_for_an_email_address_offline(site: ChatSite) -> None:
    customer = make_customer(identifiers=[("email", "known@example.org")])
    token = identity_token(
        secret=SECRET, kind="email", value="known@example.org", expires=int(time.time()) + 60
    )

    async def scenario() -> None:
        socket = customer_socket()
        await hello(socket, identity=token)
        await socket.send_json_to({"type": "offline", "text": "Still broken", "consent": True})
        await receive_until(socket, "offline_received")
        await socket.disconnect()

    run(scenario)
    conversation = Conversation.objects.get()
    assert conversation.customer_id == customer.pk
    assert conversation.messages.get().sender_address == "known@example.org"


def test_a_returning_visitor_continues_their_chat(site: ChatSite) -> None:
    async def scenario() -> None:
        socket = customer_socket()
        welcome = await hello(socket)
        visitor = welcome["visitor"]
        await socket.send_json_to({"type": "message", "text": "First question"})
        await receive_until(socket, "message")
        await socket.disconnect()

        again = customer_socket()
        welcome = await hello(again, visitor=visitor)
        assert [m["text"] for m in welcome["messages"]] == ["First question"]
        assert welcome["queue"]["position"] == 1
        await again.disconnect()

    run(scenario)
    assert Conversation.objects.count() == 1
    assert Customer.objects.get().identifiers.get().kind == "chat"


def test_an_agent_replies_in_the_chat_and_the_line_moves_for_the_next_customer(
    site: ChatSite, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT)

    async def scenario() -> None:
        inbox = agent_socket(agent)
        await inbox.connect()
        await receive_until(inbox, "inbox")
        first, second = customer_socket(), customer_socket()
        await hello(first)
        await hello(second)
        await first.send_json_to({"type": "message", "text": "Is the shop open on Sunday?"})
        await receive_until(first, "queue")
        await second.send_json_to({"type": "message", "text": "person please"})
        assert (await receive_until(second, "queue"))["queue"]["position"] == 2
        created = await receive_until(inbox, "event", event="conversation.created")

        await inbox.send_json_to({"type": "reply", "conversation": "x", "text": "Hello"})
        assert (await receive_until(inbox, "error"))["field"] == "conversation"
        await inbox.send_json_to(
            {
                "type": "reply",
                "conversation": created["conversation"]["id"],
                "text": "Yes, from 10 to 16.",
                "override": True,
            }
        )
        reply = await receive_until(first, "message")
        assert (reply["direction"], reply["text"], reply["author"]) == (
            "out",
            "Yes, from 10 to 16.",
            agent.username,
        )
        assert (await receive_until(first, "queue"))["queue"] is None  # out of the line: a person answered
        assert (await receive_until(second, "queue"))["queue"]["position"] == 1
        for socket in (first, second, inbox):
            await socket.disconnect()

    run(scenario)
    answered = Conversation.objects.get(messages__body_text="Is the shop open on Sunday?")
    assert answered.assignee_id == agent.pk
    assert answered.first_response_at is not None


def test_a_customer_identified_by_account_gives_the_address_to_answer_to(site: ChatSite) -> None:
    customer = make_customer(identifiers=[("account", "ACC-5001")])
    token = identity_token(secret=SECRET, kind="account", value="ACC-5001", expires=int(time.time()) + 60)

    async def scenario() -> None:
        socket = customer_socket()
        welcome = await hello(socket, identity=token)
        assert welcome["ask_email"] is True  # no email on file: the one thing we must ask
        await socket.send_json_to({"type": "offline", "text": "Invoice missing", "consent": True})
        assert (await receive_until(socket, "error"))["field"] == "email"
        await socket.send_json_to(
            {"type": "offline", "text": "Invoice missing", "email": "acc@example.org", "consent": True}
        )
        await receive_until(socket, "offline_received")
        await socket.disconnect()

    run(scenario)
    conversation = Conversation.objects.get()
    assert conversation.customer_id == customer.pk
    assert customer.identifiers.filter(kind="email", value_normalised="acc@example.org").exists()


def test_new_chats_from_one_address_are_limited_across_sockets(site: ChatSite, settings: Any) -> None:
    # Each socket is a fresh visitor; only the client address ties them together.
    settings.REGARD_CHAT_RATE_LIMIT = "3/10m"

    async def scenario() -> None:
        answers = []
        for n in range(5):
            socket = customer_socket()
            await hello(socket, visitor=f"visitor-{n:04d}-0123456789")
            await socket.send_json_to({"type": "message", "text": f"Hello, number {n}"})
            frame = dict(await socket.receive_json_from(timeout=5))
            answers.append(frame.get("field") == "rate")
            await socket.disconnect()
        assert answers == [False, False, False, True, True]

    run(scenario)
    assert Conversation.objects.filter(channel="chat").count() == 3


def test_a_german_browser_gets_the_chat_in_german_and_consent_is_recorded_in_the_words_shown(
    site: ChatSite, make_user: Callable[..., User]
) -> None:
    agent = make_user(Role.AGENT)

    async def scenario() -> None:
        welcome = await hello(customer_socket(), language="de-DE")
        assert welcome["language"] == "de"
        assert welcome["greeting"] == "Guten Tag"
        assert welcome["notice"].startswith("Gerade ist niemand online")
        assert "Person" in welcome["notice"]  # how to reach a person, in German too (S17)
        assert (
            welcome["consent_text"]
            == "Gerade ist niemand online. Antworten Sie mir per E-Mail an diese Adresse."
        )

        offline = customer_socket()
        await hello(offline, language="de")
        await offline.send_json_to(
            {"type": "offline", "text": "Bitte rufen Sie an", "email": "jo@example.de", "consent": True}
        )
        received = await receive_until(offline, "offline_received")
        assert received["text"].startswith("Danke: Wir antworten per E-Mail, Referenz [#")

        inbox = agent_socket(agent)
        await inbox.connect()
        await inbox.receive_json_from(timeout=5)
        german, french = customer_socket(), customer_socket()
        await hello(german, language="de")
        await german.send_json_to({"type": "message", "text": "Wo ist mein Paket?"})
        assert (
            "Sie sind als Nächstes an der Reihe." in (await receive_until(german, "queue"))["queue"]["text"]
        )
        await hello(french, language="fr-CH")
        await french.send_json_to({"type": "message", "text": "Où est mon colis ?"})
        place = (await receive_until(french, "queue"))["queue"]
        assert place["text"].startswith("Vous êtes numéro 2 dans la file d’attente (1 avant vous).")
        # The line moves: each visitor reads it in their own language, whoever moved it.
        conversation = await database_sync_to_async(
            Conversation.objects.filter(messages__body_text="Wo ist mein Paket?").get
        )()
        await database_sync_to_async(services.conversation_set_status)(
            actor=agent, conversation=conversation, status="resolved"
        )
        moved = await receive_until(french, "queue")
        assert moved["queue"]["text"].startswith("Vous êtes le prochain")
        for socket in (offline, german, french, inbox):
            await socket.disconnect()

    run(scenario)
    consent = ConsentEvent.objects.get(customer__identifiers__value_normalised="jo@example.de")
    assert "Antworten Sie mir per E-Mail an diese Adresse." in consent.proof["note"]


@pytest.mark.parametrize(
    ("asked", "header", "language"),
    [
        ("de-AT", b"", "de"),
        (None, b"fr-CH,fr;q=0.9,en;q=0.8", "fr"),
        ("xx-nonsense", b"de;q=0.9", "de"),
        (42, b"", "en"),
        ("", b"", "en"),
    ],
)
def test_the_visitors_language_comes_from_the_widget_then_the_handshake(
    asked: object, header: bytes, language: str
) -> None:
    from regard.support.consumers import visitor_language

    scope = {"headers": [(b"accept-language", header)] if header else []}
    assert visitor_language(asked, scope) == language


def test_the_chat_and_contact_form_texts_have_german_and_french_catalogues() -> None:
    import ast
    import gettext
    from pathlib import Path

    from django.template import engines
    from django.templatetags.i18n import BlockTranslateNode, TranslateNode

    import regard

    src = Path(regard.__file__).resolve().parent
    wanted: set[str] = set()
    for module in ("support/consumers.py", "support/queue.py", "support/chat.py", "support/views.py"):
        for node in ast.walk(ast.parse((src / module).read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") in {"gettext", "gettext_lazy", "gettext_noop", "ngettext"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                wanted.add(node.args[0].value)
    for name in ("support/contact.html", "support/contact_thanks.html"):
        template = engines["django"].engine.get_template(name)
        wanted |= {
            n.filter_expression.var.literal for n in template.nodelist.get_nodes_by_type(TranslateNode)
        }
        wanted |= {
            n.render_token_list(n.singular)[0]
            for n in template.nodelist.get_nodes_by_type(BlockTranslateNode)
        }
    assert len(wanted) > 20
    for language in ("de", "fr"):
        known: dict[object, str] = {}
        for app in ("customers", "support"):  # "Hello" is the greeting's, in customers
            found = gettext.translation("django", localedir=src / app / "locale", languages=[language])
            known.update(found._catalog)  # type: ignore[attr-defined]
        missing = {m for m in wanted if m not in known and (m, 0) not in known}
        assert not missing, (language, missing)
