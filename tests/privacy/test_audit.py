"""Invariant 6, second half: every read of a customer's personal data leaves an audit row."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(make_user: Any) -> Any:
    return make_user(Role.AGENT, username=f"agent-{unique()}")


@pytest.fixture
def agent_client(agent: Any) -> Any:
    from regard.privacy.services import token_create
    from tests.conftest import ApiClient

    return ApiClient(token_create(username=agent.get_username()).secret)


@pytest.fixture
def anna() -> Any:
    return make_customer(
        preferred_name="Anna Weber",
        identifiers=[
            ("email", f"anna.weber{unique()}@example.org"),
            ("phone", f"+49 30 {20000000 + unique()}"),
        ],
    )


def reads_of(customer_id: int, actor: Any) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            action=AuditEntry.Action.READ, customer_id=customer_id, actor=actor
        ).order_by("id")
    )


def test_reading_a_customer_is_audited_with_the_agent_and_the_customer(
    agent: Any, agent_client: Any, anna: Any
) -> None:
    assert reads_of(anna.pk, agent) == []
    assert agent_client.get(f"customers/{anna.pk}").status_code == 200
    [entry] = reads_of(anna.pk, agent)
    assert (entry.actor_label, entry.object_type, entry.via) == (agent.get_username(), "customer", "api")


def test_a_search_audits_every_customer_it_shows(agent: Any, agent_client: Any, anna: Any) -> None:
    other = make_customer(preferred_name="Anna Schulz")
    unrelated = make_customer(preferred_name="Bert")
    response = agent_client.get("customers", q="anna")
    assert {item["id"] for item in response.json()["items"]} == {anna.pk, other.pk}
    assert len(reads_of(anna.pk, agent)) == len(reads_of(other.pk, agent)) == 1
    assert reads_of(unrelated.pk, agent) == []


def test_resolving_an_identifier_is_audited(agent: Any, agent_client: Any, anna: Any) -> None:
    email = anna.identifiers.get(kind="email").value_raw
    assert agent_client.get("customers/resolve", kind="email", value=email).status_code == 200
    assert len(reads_of(anna.pk, agent)) == 1


def test_reading_a_timeline_is_audited(agent: Any, agent_client: Any, anna: Any) -> None:
    assert agent_client.get(f"customers/{anna.pk}/timeline").status_code == 200
    [entry] = reads_of(anna.pk, agent)
    assert entry.object_type == "timeline"


def test_opening_the_customer_360_page_is_audited(agent: Any, anna: Any) -> None:
    client = Client()
    client.force_login(agent)
    response = client.get(f"/customers/{anna.pk}/")
    assert response.status_code == 200
    [entry] = reads_of(anna.pk, agent)
    assert (entry.object_type, entry.via) == ("customer", "web")


def test_searching_in_the_web_ui_is_audited(agent: Any, anna: Any) -> None:
    client = Client()
    client.force_login(agent)
    assert client.get("/customers/", {"q": "weber"}).status_code == 200
    assert [e.via for e in reads_of(anna.pk, agent)] == ["web"]


def test_writes_are_audited_too(agent: Any, agent_client: Any) -> None:
    created = agent_client.post("customers", {"preferred_name": "Carla"}).json()
    agent_client.patch(f"customers/{created['id']}", {"address": {"locality": "Lyon"}})
    actions = list(
        AuditEntry.objects.filter(customer_id=created["id"], actor=agent)
        .values_list("action", flat=True)
        .order_by("id")
    )
    assert actions[:1] == [AuditEntry.Action.CREATE]
    assert AuditEntry.Action.UPDATE in actions


def test_admins_list_the_audit_of_one_customer_and_agents_may_not(
    agent: Any, agent_client: Any, admin_api: Any, anna: Any
) -> None:
    agent_client.get(f"customers/{anna.pk}")
    agent_client.get(f"customers/{anna.pk}/timeline")
    assert agent_client.get("audit").status_code == 403

    listed = admin_api.get("audit", customer_id=anna.pk)
    assert listed.status_code == 200
    items = listed.json()["items"]
    reads = [i for i in items if i["action"] == "read" and i["actor"] == agent.get_username()]
    assert [i["object_type"] for i in reads] == ["timeline", "customer"]  # newest first
    assert all(i["customer_id"] == anna.pk for i in items)


def test_the_audit_list_pages_backwards_without_gaps(admin_api: Any, agent_client: Any, anna: Any) -> None:
    for _ in range(5):
        agent_client.get(f"customers/{anna.pk}")
    seen: list[int] = []
    before_id = None
    while True:
        params = {"customer_id": anna.pk, "limit": 2}
        if before_id is not None:
            params["before_id"] = before_id
        page = admin_api.get("audit", **params).json()
        seen.extend(item["id"] for item in page["items"])
        before_id = page["next_before_id"]
        if before_id is None:
            break
    expected = list(
        AuditEntry.objects.filter(customer_id=anna.pk).order_by("-id").values_list("id", flat=True)
    )
    assert seen == expected
    assert len(seen) >= 6
