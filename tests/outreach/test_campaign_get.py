"""The campaign screen and API find a campaign one way: the role first, then the id."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from regard.errors import NotFound, PermissionDenied
from regard.outreach import services
from regard.outreach.selectors import campaign_get
from regard.privacy.roles import Role

pytestmark = pytest.mark.django_db


def _draft() -> Any:
    return services.campaign_create(actor=None, name="Kept", purpose="newsletter", subject="s", body="b")


def test_an_unknown_campaign_is_not_found_naming_the_id(make_user: Any) -> None:
    with pytest.raises(NotFound) as raised:
        campaign_get(actor=make_user(Role.MARKETER), campaign_id=987654)
    assert (raised.value.http_status, raised.value.field) == (404, "id")


def test_a_role_without_campaigns_is_refused_even_for_a_campaign_that_exists(make_user: Any) -> None:
    draft = _draft()
    for role in (Role.AGENT, Role.ANALYST):
        with pytest.raises(PermissionDenied):
            campaign_get(actor=make_user(role), campaign_id=draft.pk)
    assert campaign_get(actor=make_user(Role.MARKETER), campaign_id=draft.pk) == draft


def test_the_campaign_page_of_an_unknown_campaign_is_a_404(make_user: Any) -> None:
    client = Client()
    client.force_login(make_user(Role.MARKETER))
    assert client.get("/campaigns/987654/").status_code == 404


def test_the_campaign_form_and_the_api_refuse_the_same_scheduled_time_by_name(
    make_user: Any, api_for: Any
) -> None:
    marketer = Client()
    marketer.force_login(make_user(Role.MARKETER))
    form = {"name": "N", "purpose": "newsletter", "channel": "email", "subject": "s", "body": "b",
            "topics": "", "audience": "{}", "scheduled_at": "next tuesday"}  # fmt: skip
    page = marketer.post("/campaigns/new", form)
    api = api_for(Role.MARKETER).post("campaigns", {**form, "audience": {}, "topics": []})
    assert (page.status_code, api.status_code) == (422, 422)
    assert 'data-field="scheduled_at"' in page.content.decode()
    assert api.json()["field"] == "scheduled_at"
