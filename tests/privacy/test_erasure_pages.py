"""Erasure from Customer 360 (Art. 17): an admin's button, a confirm page with the reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from regard.customers.models import Customer
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada() -> Customer:
    return make_customer(family_name="Lovelace", identifiers=[("email", f"ada{unique()}@example.org")])


def _browser(make_user: Any, role: Role) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


def test_an_admin_sees_the_erase_button_on_customer_360_and_an_agent_does_not(
    make_user: Any, ada: Customer
) -> None:
    page = _browser(make_user, Role.ADMIN).get(f"/customers/{ada.pk}/").content.decode()
    assert 'data-testid="erase-link"' in page
    assert f"/customers/{ada.pk}/erase/" in page
    page = _browser(make_user, Role.AGENT).get(f"/customers/{ada.pk}/").content.decode()
    assert "erase-link" not in page


def test_the_confirm_page_is_for_admins_only(make_user: Any, ada: Customer) -> None:
    assert _browser(make_user, Role.ADMIN).get(f"/customers/{ada.pk}/erase/").status_code == 200
    assert _browser(make_user, Role.AGENT).get(f"/customers/{ada.pk}/erase/").status_code == 403
    assert (
        _browser(make_user, Role.AGENT)
        .post(f"/customers/{ada.pk}/erase/", {"reason": "asked", "confirm": "yes"})
        .status_code
        == 403
    )
    assert Client().get(f"/customers/{ada.pk}/erase/").status_code == 302  # to sign in
    assert Customer.objects.get(pk=ada.pk).erased_at is None


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"reason": "Request by phone"}, "confirm"),
        ({"reason": "  ", "confirm": "yes"}, "reason"),
        ({"confirm": "yes"}, "reason"),
    ],
)
def test_without_a_reason_or_the_confirmation_nothing_is_erased(
    make_user: Any, ada: Customer, form: dict[str, str], field: str
) -> None:
    answer = _browser(make_user, Role.ADMIN).post(f"/customers/{ada.pk}/erase/", form)
    assert answer.status_code == 422
    assert f'data-field="{field}"' in answer.content.decode()
    assert Customer.objects.get(pk=ada.pk).family_name == "Lovelace"
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ERASE).exists()


def test_the_admin_types_the_reason_confirms_and_the_customer_is_erased(
    make_user: Any, ada: Customer
) -> None:
    browser = _browser(make_user, Role.ADMIN)
    answer = browser.post(
        f"/customers/{ada.pk}/erase/",
        {"reason": "Request by phone, ticket 12", "confirm": "yes"},
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == f"/customers/{ada.pk}/"
    page = answer.content.decode()
    assert "was erased" in page
    assert 'data-testid="erased"' in page
    assert "Lovelace" not in page
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ERASE)
    assert (entry.via, entry.detail["reason"]) == ("web", "Request by phone, ticket 12")
    again = browser.post(f"/customers/{ada.pk}/erase/", {"reason": "again", "confirm": "yes"})
    assert again.status_code == 409
    assert "was erased on" in again.content.decode()
