"""Back office for the desk's set-up: a team's hours are checked as the SLA timers will read them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from regard.support.models import SavedReply, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_superuser("root", "root@example.org", "pw-long-enough-123")
    client = Client()
    client.force_login(user)
    return client


def team_form(**changes: str) -> dict[str, str]:
    data = {
        "name": "Care",
        "slug": "care",
        "time_zone": "Europe/Berlin",
        "country": "DE",
        "business_hours": '{"mon": [["09:00", "17:00"]]}',
        "support_address": "",
    }
    data.update(changes)
    return data


def test_a_team_with_usable_hours_is_saved(admin_client_: Client) -> None:
    response = admin_client_.post("/admin/support/team/add/", team_form())
    assert response.status_code == 302
    assert Team.objects.get(slug="care").business_hours == {"mon": [["09:00", "17:00"]]}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"business_hours": '{"mon": [["9am", "17:00"]]}'}, "is not a time like 09:30"),
        ({"business_hours": '{"someday": []}'}, "not a day"),
        ({"time_zone": "Mars/Olympus"}, "is not an IANA time zone"),
        ({"country": "XX"}, "not a country with known public holidays"),
    ],
)
def test_unusable_hours_zone_or_country_are_refused_and_nothing_is_saved(
    admin_client_: Client, changes: dict[str, str], message: str
) -> None:
    response = admin_client_.post("/admin/support/team/add/", team_form(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Team.objects.exists()


def test_saved_replies_are_kept_in_the_back_office(admin_client_: Client) -> None:
    response = admin_client_.post(
        "/admin/support/savedreply/add/",
        {"title": "Thanks", "body": "Thank you for writing.", "language": "en"},
    )
    assert response.status_code == 302
    assert SavedReply.objects.get().created_at is not None
