"""A request outside policy comes back five times, a manager declines it with an honest answer,
and the next agent who meets it sees that answer beside the conversation (C5, S11)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from regard.policies.models import ExceptionGroup
from regard.policies.services.exceptions import exception_log
from regard.privacy.roles import Role
from regard.support import services
from tests.customers.factories import make_customer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REQUESTS = [
    "Could you repair my earphones for free although the guarantee ended?",
    "Can you please repair the earphones for free, the guarantee ended last month",
    "Please repair my earphones free of charge even though the guarantee ended",
    "I would like you to repair my earphones for free although the guarantee has ended",
    "Is it possible to repair my earphones for free? The guarantee ended.",
]


def test_a_recurring_request_is_decided_and_its_answer_offered_next_time(
    live_server: object, page: Page, make_user: Callable[..., User], sign_in: Callable[..., None]
) -> None:
    agent = make_user(Role.AGENT, username="agent-jo")
    make_user(Role.MANAGER, username="manager-kim")
    for number, text in enumerate(REQUESTS):
        customer = make_customer(
            preferred_name=f"Customer {number}", identifiers=[("email", f"c{number}@example.org")]
        )
        exception_log(
            customer=customer, request_text=text, action_taken="explained the guarantee", actor=agent
        )
    group = ExceptionGroup.objects.get()
    assert group.member_count == 5
    assert group.owner is not None
    assert group.owner.username == "manager-kim"

    base_url = str(live_server)
    sign_in(base_url, "manager-kim")
    page.goto(f"{base_url}/policies/exceptions/")
    page.get_by_role("link", name=group.label[:30]).first.click()
    expect(page.get_by_test_id("group-state")).to_contain_text("5 requests · undecided · owner manager-kim")
    expect(page.get_by_test_id("group-members").locator("tbody tr")).to_have_count(5)
    form = page.get_by_test_id("decide-form")
    form.get_by_label("Answer in English").fill(
        "We don't repair for free after the guarantee; we offer a paid repair at cost."
    )
    form.get_by_label("Answer in German").fill(
        "Nach der Garantie reparieren wir nicht kostenlos; wir bieten eine Reparatur zum Selbstkostenpreis."
    )
    form.get_by_role("button", name="Decide").click()
    expect(page.get_by_test_id("group-state")).to_contain_text("declined")
    group.refresh_from_db()
    assert group.state == ExceptionGroup.State.DECLINED

    # The same request again, from someone new: the agent sees the standard answer.
    mika = make_customer(preferred_name="Mika", identifiers=[("email", "mika@example.org")])
    conversation = services.conversation_open(customer=mika, channel="email", subject="Repair", via="email")
    services.message_receive(
        conversation=conversation, body_text="Can you repair my earphones for free? The guarantee ended."
    )
    page.context.clear_cookies()
    sign_in(base_url, "agent-jo")
    page.goto(f"{base_url}/support/c/{conversation.pk}/")
    expect(page.get_by_test_id("declined-answer")).to_contain_text("paid repair at cost")
