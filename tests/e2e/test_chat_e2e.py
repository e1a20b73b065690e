"""S17 in a real browser: the customer types OPERATOR in the widget; the agent's inbox shows it live.

Two browser contexts (a customer on the demo shop, an agent signed in to the inbox) against
the real ASGI application served by uvicorn with websockets, in a thread of the test process
so it shares the test database (as Django's own live server does).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, Page, expect

from regard.config.asgi import application
from regard.privacy.roles import Role
from regard.support.demo_chat import demo_chat_site_ensure
from regard.support.models import Conversation
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def asgi_server(transactional_db: None) -> Iterator[str]:
    """uvicorn serving HTTP and websockets, as `regard web` does."""
    port = _free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _live_inbox(browser: Browser, server: str, agent: User) -> tuple[BrowserContext, Page]:
    """The agent signed in with the inbox open and listening: they count as online."""
    context = browser.new_context()
    inbox = context.new_page()
    inbox.goto(f"{server}/accounts/login/")
    inbox.get_by_label("User name").fill(agent.username)
    inbox.get_by_label("Password").fill(PASSWORD)
    inbox.get_by_role("button", name="Sign in").click()
    inbox.wait_for_url(lambda url: "/accounts/login/" not in url)
    inbox.goto(f"{server}/support/")
    expect(inbox.get_by_test_id("live-status")).to_contain_text("Live:")
    return context, inbox


def test_operator_in_the_widget_reaches_the_agents_inbox_live_and_shows_the_place_in_line(
    asgi_server: str, browser: Browser, make_user: Callable[..., User], artifacts_dir: Path
) -> None:
    agent = make_user(Role.AGENT, username="agent-anna")
    demo_chat_site_ensure()

    agent_context, inbox = _live_inbox(browser, asgi_server, agent)
    expect(inbox.get_by_test_id("live-waiting")).to_contain_text("Nobody is waiting.")

    customer_context = browser.new_context()
    shop = customer_context.new_page()
    shop.goto(f"{asgi_server}/demo/shop/")
    shop.get_by_test_id("chat-open").click()
    # An agent is online (the inbox page above), so chat is offered, not the email form.
    expect(shop.get_by_test_id("chat-notice")).to_contain_text("a person from our team answers")
    expect(shop.get_by_test_id("chat-person")).to_be_visible()
    shop.get_by_test_id("chat-input").fill("OPERATOR!!")
    shop.get_by_test_id("chat-input").press("Enter")

    expect(shop.get_by_test_id("chat-log")).to_contain_text("OPERATOR!!")
    expect(shop.get_by_test_id("chat-queue")).to_contain_text("You are next in line for a person.")

    # The agent's page was never reloaded: the hand-off arrives over the websocket.
    waiting_row = inbox.get_by_test_id("live-waiting-row")
    expect(waiting_row).to_have_count(1)
    expect(waiting_row).to_contain_text("asked for a person")
    expect(inbox.locator('[data-testid="live-event"][data-event="conversation.handoff"]')).to_contain_text(
        "number 1 in line"
    )

    # A second customer asks with the button: they are number 2, and the agent sees them too.
    second_context = browser.new_context()
    second = second_context.new_page()
    second.goto(f"{asgi_server}/demo/shop/")
    second.get_by_test_id("chat-open").click()
    expect(second.get_by_test_id("chat-person")).to_be_visible()
    expect(second.get_by_test_id("chat-notice")).to_contain_text("answers")
    second.get_by_test_id("chat-person").click()
    expect(second.get_by_test_id("chat-queue")).to_contain_text("number 2 in line for a person")
    expect(inbox.get_by_test_id("live-waiting-row")).to_have_count(2)

    inbox.screenshot(path=str(artifacts_dir / "chat-inbox-live.png"))
    shop.screenshot(path=str(artifacts_dir / "chat-widget-queue.png"))
    conversation = Conversation.objects.get(messages__body_text="OPERATOR!!")
    assert (conversation.wants_human, conversation.handoff_count) == (True, 1)
    for context in (agent_context, customer_context, second_context):
        context.close()


def test_on_a_german_phone_the_widget_fills_the_screen_speaks_german_and_notices_the_agents_answer(
    asgi_server: str, browser: Browser, make_user: Callable[..., User], artifacts_dir: Path
) -> None:
    agent = make_user(Role.AGENT, username="agent-jonas")
    agent.first_name = "Jonas"
    agent.save(update_fields=["first_name"])
    demo_chat_site_ensure()

    phone_context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="de-DE", is_mobile=True
    )
    phone = phone_context.new_page()
    phone.goto(f"{asgi_server}/demo/shop/")
    launcher = phone.get_by_test_id("chat-open")
    expect(launcher).to_have_text("Chat mit uns")
    launcher.click()
    # Nobody is online yet: the email form, in German, with the consent words the server records.
    expect(phone.get_by_test_id("chat-notice")).to_contain_text("Gerade ist niemand online")
    expect(phone.get_by_test_id("chat-offline")).to_contain_text(
        "Antworten Sie mir per E-Mail an diese Adresse."
    )
    panel = phone.get_by_role("dialog")
    box = panel.bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
    expect(launcher).to_be_hidden()  # it no longer covers the form
    phone.screenshot(path=str(artifacts_dir / "chat-widget-phone-de.png"))
    phone_context.close()

    agent_context, _ = _live_inbox(browser, asgi_server, agent)  # the agent is online

    customer_context = browser.new_context(locale="de-DE")
    shop = customer_context.new_page()
    shop.goto(f"{asgi_server}/demo/shop/")
    shop.get_by_test_id("chat-open").click()
    expect(shop.get_by_test_id("chat-notice")).to_contain_text("eine Person aus unserem Team antwortet")
    shop.get_by_test_id("chat-input").fill("Wo ist mein Paket?")
    shop.get_by_test_id("chat-input").press("Enter")
    expect(shop.get_by_test_id("chat-queue")).to_contain_text("Sie sind als Nächstes an der Reihe.")

    conversation = Conversation.objects.get(messages__body_text="Wo ist mein Paket?")
    answering = agent_context.new_page()  # the inbox stays open beside it
    answering.goto(f"{asgi_server}/support/c/{conversation.pk}/")
    answering.locator("textarea[name=body]").first.fill("Guten Tag, ich sehe nach.")
    answering.get_by_role("button", name="Check and send").click()
    expect(shop.get_by_test_id("chat-log")).to_contain_text("Guten Tag, ich sehe nach.")
    expect(shop.get_by_test_id("chat-notice")).to_have_text("Jonas aus unserem Team antwortet.")
    shop.screenshot(path=str(artifacts_dir / "chat-widget-agent-answers-de.png"))
    for context in (agent_context, customer_context):
        context.close()
