"""An agent promises a callback in a reply, the reply check reads it, one click records it, and the
promise shows open on the conversation (C5, S22)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from regard.policies.models import Promise
from regard.privacy.roles import Role
from regard.support import services
from regard.support.models import Message
from tests.customers.factories import make_customer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_agent_records_the_promise_the_reply_check_read(
    live_server: object, page: Page, make_user: Callable[..., User], sign_in: Callable[..., None]
) -> None:
    make_user(Role.AGENT, username="agent-jo")
    mika = make_customer(
        preferred_name="Mika", formality="informal", identifiers=[("email", "mika@example.org")]
    )
    mail = services.conversation_open(customer=mika, channel="email", subject="No sound", via="email")
    services.message_receive(conversation=mail, body_text="No sound from my earphones.")
    base_url = str(live_server)
    sign_in(base_url, "agent-jo")
    page.goto(f"{base_url}/support/c/{mail.pk}/")

    page.locator("textarea[name=body]").first.fill("Hi Mika,\n\nWe'll call you back tomorrow.")
    page.get_by_role("button", name="Check and send").click()
    findings = page.get_by_test_id("findings")
    expect(findings).to_contain_text("promises a callback")
    findings.get_by_test_id("record-promise-button").click()
    expect(page.get_by_test_id("promise-recorded")).to_be_visible()
    open_promises = page.get_by_test_id("open-promises")  # swapped in beside the conversation by htmx
    expect(open_promises).to_contain_text("call you back tomorrow")
    promise = Promise.objects.get()
    assert (promise.state, promise.kind, promise.source) == ("open", "callback", "reply_check")

    page.get_by_role("button", name="Send", exact=True).click()  # recorded: nothing left to look at
    expect(page.get_by_test_id("thread")).to_contain_text("We'll call you back tomorrow.")
    expect(page.get_by_test_id("open-promises")).to_contain_text("call you back tomorrow")
    reply = Message.objects.get(direction="out")
    assert reply.reply_check["overridden"] is False
