from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from regard.consent import services
from regard.consent.models import ConsentEvent
from regard.privacy.roles import Role, permission_matrix_markdown
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db


def test_grant_withdraw_and_read_state_and_history(agent_api) -> None:
    customer = make_customer()
    url = f"customers/{customer.pk}/consent"
    granted = agent_api.post(
        url,
        {
            "action": "grant",
            "purpose": "newsletter",
            "channel": "email",
            "source": "form",
            "proof": {"ip": "203.0.113.9"},
        },
    )
    assert granted.status_code == 201, granted.content
    assert (
        agent_api.post(url, {"action": "withdraw", "purpose": "newsletter", "channel": "email"}).status_code
        == 201
    )
    body = agent_api.get(url).json()
    assert body["state"] == [
        {
            "purpose": "newsletter",
            "channel": "email",
            "granted": False,
            "since": body["state"][0]["since"],
            "source": "api",
        }
    ]
    assert [e["action"] for e in body["history"]] == ["withdrawn", "granted"]
    assert body["history"][1]["proof"] == {"ip": "203.0.113.9"}


def test_unknown_purpose_is_a_422_naming_the_field(agent_api) -> None:
    customer = make_customer()
    response = agent_api.post(
        f"customers/{customer.pk}/consent", {"action": "grant", "purpose": "solar", "channel": "email"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "purpose"
    assert not ConsentEvent.objects.exists()


def test_preferences_round_trip(agent_api) -> None:
    customer = make_customer()
    url = f"customers/{customer.pk}/preferences"
    assert agent_api.get(url).json()["channels"] == []
    put = agent_api.put(
        url,
        {
            "channels": ["email"],
            "excluded_topics": ["Solar"],
            "max_messages_per_week": 1,
            "paused_until": None,
        },
    )
    assert put.status_code == 200, put.content
    got = agent_api.get(url).json()
    assert got["channels"] == ["email"]
    assert got["excluded_topics"] == ["solar"]
    assert got["max_messages_per_week"] == 1
    bad = agent_api.put(url, {"channels": ["fax"]})
    assert bad.status_code == 422
    assert bad.json()["field"] == "channels[0]"


def test_partner_checks_hashes_and_can_do_nothing_else(api_for) -> None:
    partner = api_for(Role.PARTNER)
    suppressed, clean = f"gone{unique()}@example.org", f"fine{unique()}@example.org"
    customer = make_customer(identifiers=[("email", suppressed)])
    services.suppression_add(actor=None, kind="email", normalised_value=suppressed, reason="complaint")
    hashes = [hashlib.sha256(a.encode()).hexdigest() for a in (suppressed, clean)]
    response = partner.post("suppression/check", {"hashes": hashes})
    assert response.status_code == 200
    assert response.json() == {"suppressed": [hashes[0]]}
    assert partner.get(f"customers/{customer.pk}").status_code == 403
    assert partner.get(f"customers/{customer.pk}/consent").status_code == 403
    assert partner.post("suppression/check", {"hashes": ["not-a-hash"]}).status_code == 422


def test_roles_without_the_capability_are_refused(api_for, anonymous_api) -> None:
    customer = make_customer()
    assert anonymous_api.get(f"customers/{customer.pk}/consent").status_code == 401
    assert api_for(Role.MARKETER).get(f"customers/{customer.pk}/consent").status_code == 403
    assert api_for(Role.AGENT).post("suppression/check", {"hashes": []}).status_code == 403


def test_permissions_page_is_generated_from_the_matrix() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "permissions.md").read_text()
    assert page.endswith(permission_matrix_markdown())


def _sha(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()


def test_a_partner_sees_a_withdrawal_per_purpose_as_a_hash_only(api_for: Any) -> None:
    # S5: a partner mailing on the company's behalf must not reach someone who unsubscribed.
    customer = make_customer(identifiers=[("email", "leaver@example.org"), ("email", "leaver@work.example")])
    for purpose in ("newsletter", "offers"):
        services.consent_grant(actor=None, customer=customer, purpose=purpose, channel="email", source="form")
    partner = api_for(Role.PARTNER)
    hashes = [_sha("leaver@example.org"), _sha("leaver@work.example"), _sha("stranger@example.org")]

    def suppressed(purpose: str | None = None) -> list[str]:
        body: dict[str, Any] = {"hashes": hashes} | ({"purpose": purpose} if purpose else {})
        response = partner.post("suppression/check", body)
        assert response.status_code == 200, response.content
        assert set(response.json()) == {"suppressed"}  # nothing but the hashes' yes or no
        return list(response.json()["suppressed"])

    assert suppressed("offers") == []
    services.consent_withdraw(
        actor=None, customer=customer, purpose="offers", channel="email", source="unsubscribe_link"
    )
    assert suppressed("offers") == hashes[:2]  # every address of the person
    assert suppressed("newsletter") == []
    assert suppressed() == hashes[:2]  # no purpose named: any marketing withdrawn counts
    services.consent_grant(actor=None, customer=customer, purpose="offers", channel="email", source="form")
    assert suppressed("offers") == []


def test_a_partner_check_for_a_service_or_unknown_purpose_is_refused_by_name(api_for: Any) -> None:
    for purpose in ("service", "solar"):
        response = api_for(Role.PARTNER).post(
            "suppression/check", {"hashes": [_sha("a@b.c")], "purpose": purpose}
        )
        assert response.status_code == 422
        assert response.json()["field"] == "purpose"


def test_a_partner_is_told_no_again_once_the_person_consents_afresh_and_not_before(
    api_for: Any, agent_api: Any
) -> None:
    # S5: after a withdrawal the partner hears "suppressed"; a new grant with fresh proof lifts
    # it. A grant older than the withdrawal, entered later (a paper form typed in), does not:
    # the consent in force is the latest by when it happened, as the gate reads it.
    address = f"returner{unique()}@example.org"
    customer = make_customer(identifiers=[("email", address)])
    partner = api_for(Role.PARTNER)

    def suppressed() -> bool:
        response = partner.post("suppression/check", {"hashes": [_sha(address)], "purpose": "newsletter"})
        assert response.status_code == 200, response.content
        return response.json()["suppressed"] == [_sha(address)]

    def consent(action: str, **fields: Any) -> None:
        body = {"action": action, "purpose": "newsletter", "channel": "email"} | fields
        response = agent_api.post(f"customers/{customer.pk}/consent", body)
        assert response.status_code == 201, response.content

    consent("grant", source="form", proof={"ip": "203.0.113.9", "form_text_version": "signup-3"})
    assert not suppressed()
    consent("withdraw", source="unsubscribe_link")
    assert suppressed()
    withdrawn_at = ConsentEvent.objects.filter(customer=customer).latest("occurred_at").occurred_at
    consent("grant", source="import", occurred_at=(withdrawn_at - timedelta(days=30)).isoformat())
    assert suppressed()  # an older form does not undo a later unsubscribe
    consent("grant", source="form", proof={"ip": "198.51.100.4", "form_text_version": "signup-4"})
    assert not suppressed()
    consent("withdraw", source="unsubscribe_link")
    assert suppressed()
