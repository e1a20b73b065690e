from __future__ import annotations

import pytest

from regard.outreach.dispatcher import dispatch_batch
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, unique
from tests.outreach.helpers import daytime_zone, subscriber

pytestmark = pytest.mark.django_db


def test_campaign_create_launch_send_and_count_by_reason(api_for, smtp_server, sender) -> None:
    recorder, _ = smtp_server
    marketer = api_for(Role.MARKETER)
    consenting, address = subscriber()
    silent = make_customer(identifiers=[("email", f"quiet{unique()}@example.org")], time_zone=daytime_zone())
    created = marketer.post(
        "campaigns",
        {
            "name": "May letter",
            "purpose": "newsletter",
            "subject": "News",
            "body": "{{ greeting }}, hello.",
            "audience": {"customer_ids": [consenting.pk, silent.pk]},
        },
    )
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    launched = marketer.post(f"campaigns/{campaign_id}/launch")
    assert launched.status_code == 200
    assert launched.json()["planned_count"] == 2
    assert marketer.post(f"campaigns/{campaign_id}/launch").status_code == 422
    dispatch_batch(sender=sender)
    counts = marketer.get(f"campaigns/{campaign_id}").json()
    assert counts["counts_by_state"] == {"sent": 1, "dropped": 1}
    assert counts["counts_by_reason"] == {"no_consent": 1}
    assert len(recorder.to(address)) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"purpose": "solar"}, "purpose"),
        ({"scheduled_at": "2001-01-01T00:00:00Z"}, "scheduled_at"),
        ({"body": "{% if %}"}, "body"),
        # Tags that print internals (the context, loaded modules, routes) are refused.
        ({"body": "{{ greeting }} {% debug %}"}, "body"),
        ({"subject": "{% now 'Y' %}"}, "subject"),
        ({"body": "{% url 'support:inbox' %}"}, "body"),
        ({"body": "{% if greeting %}{% csrf_token %}{% endif %}"}, "body"),
        ({"audience": {"zodiac": ["leo"]}}, "audience.zodiac"),
    ],
)
def test_bad_campaign_input_names_the_field(api_for, change, field) -> None:
    payload = {"name": "x", "purpose": "newsletter", "subject": "s", "body": "b"} | change
    response = api_for(Role.MARKETER).post("campaigns", payload)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_service_message_api_is_idempotent_by_dedupe_key(agent_api, api_for, smtp_server, sender) -> None:
    recorder, _ = smtp_server
    address = f"buyer{unique()}@example.org"
    customer = make_customer(identifiers=[("email", address)])
    payload = {
        "customer_id": customer.pk,
        "subject": "Receipt",
        "body": "Thanks.",
        "dedupe_key": "receipt:42",
    }
    first = agent_api.post("messages", payload)
    second = agent_api.post("messages", payload)
    assert first.status_code == 202
    assert second.json()["created"] is False
    dispatch_batch(sender=sender)
    assert len(recorder.to(address)) == 1
    assert api_for(Role.MARKETER).post("messages", payload).status_code == 403


def test_templates_with_variables_conditions_and_loops_are_still_accepted(api_for) -> None:
    body = "{{ greeting }},{% if preferred_name %} {{ preferred_name|upper }}{% endif %}{# note #}{% firstof x 'y' %}"
    payload = {"name": "x", "purpose": "newsletter", "subject": "Hello {{ greeting }}", "body": body}
    assert api_for(Role.MARKETER).post("campaigns", payload).status_code in (200, 201)
