"""An agent works the support inbox in a browser: filters, reads the customer first, is stopped by
the reply check, sends anyway, and logs a call (C4, S7)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from regard.privacy.roles import Role
from regard.support import services
from regard.support.models import Conversation, Message
from tests.customers.factories import make_customer, make_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_agent_filters_the_inbox_is_stopped_by_the_reply_check_and_sends_anyway(
    live_server: object, page: Page, make_user: Callable[..., User], sign_in: Callable[..., None]
) -> None:
    agent = make_user(Role.AGENT, username="agent-bea")
    ada = make_customer(
        preferred_name="Ada", formality="informal", identifiers=[("email", "ada@example.org")]
    )
    make_order(customer=ada, order_number="ORD-777")
    mail = services.conversation_open(customer=ada, channel="email", subject="Silent earphones", via="email")
    services.message_receive(conversation=mail, body_text="The left one stopped working.")
    services.call_log(actor=agent, phone="+49 30 1234567", notes="Asked about opening hours", status="open")
    base_url = str(live_server)
    sign_in(base_url, "agent-bea")

    page.get_by_role("link", name="Support").click()
    # The rows are in the HTML before htmx has bound the filters (it does so once the page has
    # loaded); a choice made before then would go unheard.
    page.wait_for_load_state("load")
    rows = page.get_by_test_id("inbox-row")
    expect(rows).to_have_count(2)
    page.get_by_label("Channel").select_option("email")  # htmx swaps the list in place
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Silent earphones")

    rows.first.get_by_role("link", name="Silent earphones").click()
    beside = page.get_by_test_id("customer-beside")
    expect(beside.get_by_test_id("greeting")).to_have_text("Hi Ada")
    expect(beside.get_by_test_id("orders")).to_contain_text("ORD-777")

    page.locator("textarea[name=body]").first.fill("Hi Generic User,\n\nsorry about that.")
    page.get_by_role("button", name="Check and send").click()
    expect(page.get_by_test_id("findings")).to_contain_text("Generic User")
    page.get_by_label("Send anyway (recorded)").check()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_test_id("override")).to_be_visible()
    reply = Message.objects.get(direction="out")
    assert reply.reply_check["overridden"] is True

    page.get_by_role("link", name="Log a call").click()
    page.get_by_label("Notes").fill("Called to confirm the replacement address.")
    page.get_by_role("button", name="Save call").click()
    expect(page.get_by_test_id("thread")).to_contain_text("Called to confirm the replacement address.")
    assert Conversation.objects.filter(customer=ada, channel="phone").count() == 1
