"""One-click unsubscribe done the way a mailbox provider does it, and the preference page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from regard.consent.models import ConsentEvent, PreferenceChange
from regard.consent.selectors import consent_current
from regard.consent.tokens import link_token
from tests.outreach.helpers import subscriber

pytestmark = pytest.mark.django_db


def _token(customer) -> str:
    return link_token(customer_id=customer.pk, purpose="newsletter", channel="email", message_id="<m1@x>")


def _granted(customer) -> bool:
    return consent_current([customer.pk])[customer.pk][("newsletter", "email")].is_granted


@pytest.mark.parametrize("multipart", [False, True])
def test_one_click_post_unsubscribes_with_200_no_redirect_no_cookies(multipart: bool) -> None:
    customer, _ = subscriber()
    client = Client(enforce_csrf_checks=True)
    url = f"/u/{_token(customer)}"
    if multipart:
        response = client.post(url, {"List-Unsubscribe": "One-Click"}, HTTP_USER_AGENT="Mailbox/1.0")
    else:
        response = client.post(
            url,
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
            HTTP_USER_AGENT="Mailbox/1.0",
        )
    assert response.status_code == 200
    assert not response.cookies
    assert not _granted(customer)
    event = ConsentEvent.objects.filter(customer=customer, action="withdrawn").get()
    assert event.source == "unsubscribe_link"
    assert event.proof["user_agent"] == "Mailbox/1.0"
    assert event.proof["message_id"] == "<m1@x>"
    again = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert ConsentEvent.objects.filter(customer=customer, action="withdrawn").count() == 1


def test_get_shows_a_confirmation_and_changes_nothing_until_the_button() -> None:
    customer, _ = subscriber()
    client = Client(enforce_csrf_checks=True)
    url = f"/u/{_token(customer)}"
    page = client.get(url)
    assert page.status_code == 200
    assert b"<button" in page.content
    assert _granted(customer)
    pressed = client.post(url, {"confirm": "1"})
    assert pressed.status_code == 200
    assert not _granted(customer)


@pytest.mark.parametrize("token", ["nonsense", "WzEsIm5ld3NsZXR0ZXIiLCJlbWFpbCIsIiJd~tampered"])
def test_malformed_or_tampered_tokens_are_refused_and_change_nothing(token: str) -> None:
    customer, _ = subscriber()
    response = Client().post(f"/u/{token}", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400
    assert _granted(customer)
    assert Client().get(f"/p/{token}").status_code == 400


def test_preference_page_saves_choices_and_can_stop_everything() -> None:
    customer, _ = subscriber(preferred_name="Ingrid", formality="informal", language="de")
    client = Client(enforce_csrf_checks=True)
    url = f"/p/{_token(customer)}"
    page = client.get(url)
    assert page.status_code == 200
    assert "Hallo Ingrid" in page.content.decode()  # her language, her chosen form of address
    saved = client.post(
        url,
        {
            "channels": ["email"],
            "excluded_topics": "solar, diet",
            "max_messages_per_week": "1",
            "pause_days": "14",
        },
    )
    assert saved.status_code == 200
    change = PreferenceChange.objects.get(customer=customer)
    assert change.excluded_topics == ["diet", "solar"]
    assert change.max_messages_per_week == 1
    assert change.paused_until is not None
    assert change.paused_until > timezone.now()
    client.post(url, {"stop_everything": "1"})
    assert not _granted(customer)
    assert PreferenceChange.objects.filter(customer=customer).count() == 2


def test_public_endpoints_are_rate_limited() -> None:
    customer, _ = subscriber()
    client = Client(REMOTE_ADDR="198.51.100.77")
    url = f"/u/{_token(customer)}"
    codes = [client.get(url).status_code for _ in range(35)]
    assert 429 in codes
    assert _granted(customer)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pause_days", "²"),
        ("pause_days", "99999999999999999999999"),
        ("max_messages_per_week", "١٢"),
        ("max_messages_per_week", "9223372036854775808"),
        ("max_messages_per_week", "-1"),
    ],
)
def test_preference_page_refuses_numbers_out_of_range_by_name(field: str, value: str) -> None:
    # The customer's own link must not be able to raise a 500 (invariant 7).
    customer, _ = subscriber(preferred_name="Ingrid")
    values = {"channels": ["email"], "max_messages_per_week": "1", "pause_days": "0", field: value}
    response = Client().post(f"/p/{_token(customer)}", values)
    assert response.status_code == 422
    assert field in response.content.decode()
    assert not PreferenceChange.objects.filter(customer=customer).exists()
