"""The public contact form: CSRF-safe, a honeypot, rate-limited, and it opens a conversation (C4)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from regard.customers.models import Customer
from regard.support.models import Conversation
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db


def _browser() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/contact/")
    assert page.status_code == 200
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match is not None
    return client, match.group(1)


def test_a_message_from_the_form_opens_a_conversation_for_the_known_customer() -> None:
    ada = make_customer(identifiers=[("email", "ada@example.org")])
    client, token = _browser()
    response = client.post(
        "/contact/",
        {
            "csrfmiddlewaretoken": token,
            "name": "Ada",
            "email": "ADA@example.org",
            "subject": "",
            "message": "Where is my order?\nIt is late.",
        },
    )
    assert response.status_code == 200
    conversation = Conversation.objects.get()
    assert (conversation.customer_id, conversation.channel, conversation.subject) == (
        ada.pk,
        "form",
        "Where is my order?",
    )
    assert f"[#{conversation.token}]" in response.content.decode()
    (message,) = conversation.messages.all()
    assert (message.direction, message.body_text) == ("in", "Where is my order?\nIt is late.")


def test_a_post_without_the_csrf_token_is_refused() -> None:
    client, _ = _browser()
    response = client.post("/contact/", {"email": "ada@example.org", "message": "hi"})
    assert response.status_code == 403
    assert not Conversation.objects.exists()


def test_a_bot_filling_the_honeypot_is_thanked_and_nothing_is_stored() -> None:
    customers = Customer.objects.count()
    client, token = _browser()
    response = client.post(
        "/contact/",
        {
            "csrfmiddlewaretoken": token,
            "email": "bot@example.org",
            "message": "buy",
            "website": "http://spam",
        },
    )
    assert response.status_code == 200
    assert not Conversation.objects.exists()
    assert Customer.objects.count() == customers


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not an address", "message": "hi"}, "email"),
        ({"email": "", "message": "hi"}, "email"),
        ({"email": "ada@example.org", "message": "   "}, "message"),
        ({"email": "ada@example.org", "message": "x" * 20_001}, "message"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(data: dict[str, str], field: str) -> None:
    customers = Customer.objects.count()
    client, token = _browser()
    response = client.post("/contact/", {"csrfmiddlewaretoken": token, **data})
    assert response.status_code == 422
    assert f'data-field="{field}"'.encode() in response.content
    assert not Conversation.objects.exists()
    assert Customer.objects.count() == customers


def test_submissions_are_rate_limited_per_client() -> None:
    client, token = _browser()
    codes = [
        client.post(
            "/contact/", {"csrfmiddlewaretoken": token, "email": "ada@example.org", "message": f"try {n}"}
        ).status_code
        for n in range(7)
    ]
    assert codes[:5] == [200] * 5
    assert codes[5:] == [429, 429]
    assert Conversation.objects.count() == 5


def test_the_contact_form_speaks_the_browsers_language() -> None:
    from django.test import Client

    german = Client(HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5").get("/contact/")
    assert german.headers["Content-Language"] == "de"
    page = german.content.decode()
    assert '<html lang="de">' in page
    for text in ("Kontakt", "Ihr Name", "Senden"):
        assert text in page
    assert "Your name" not in page
    english = Client().get("/contact/").content.decode()
    assert "Your name" in english
