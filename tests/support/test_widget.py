"""The widget script is served to other sites, and the demo shop embeds it (C4, S20)."""

from __future__ import annotations

import pytest
from django.test import Client

from regard.support.demo_chat import DEMO_KEY, demo_chat_site_ensure
from regard.support.identity import identity_read
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db


def test_whitenoise_serves_the_widget_script() -> None:
    response = Client().get("/static/support/widget.js")
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert "/ws/support/chat/?key=" in body
    assert "Talk to a person" in body


def test_the_demo_shop_exists_only_with_the_demo_chat_site() -> None:
    assert Client().get("/demo/shop/").status_code == 404
    site = demo_chat_site_ensure()
    assert demo_chat_site_ensure().pk == site.pk  # made once
    page = Client().get("/demo/shop/").content.decode()
    assert f'data-key="{DEMO_KEY}"' in page
    assert 'data-identity=""' in page
    assert "/static/support/widget.js" in page


def test_the_signed_in_demo_shopper_carries_a_valid_identity_token() -> None:
    make_customer(preferred_name="Ingrid", identifiers=[("email", "ingrid@example.org")])
    site = demo_chat_site_ensure()
    page = Client().get("/demo/shop/", {"signed_in": "1"}).content.decode()
    token = page.split('data-identity="', 1)[1].split('"', 1)[0]
    identity = identity_read(token, secret=site.secret)
    assert (identity.kind, identity.value) == ("email", "ingrid@example.org")
    assert "Signed in as Ingrid" in page
