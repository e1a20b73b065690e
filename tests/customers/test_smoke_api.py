import pytest

pytestmark = pytest.mark.django_db


def test_create_then_resolve_by_raw_phone(agent_api) -> None:
    created = agent_api.post(
        "customers",
        {
            "preferred_name": "Anna",
            "formality": "informal",
            "identifiers": [
                {"kind": "email", "value": "Anna@Example.org"},
                {"kind": "phone", "value": "+49 151 23456789"},
            ],
        },
    )
    assert created.status_code == 201, created.content
    resolved = agent_api.get("customers/resolve", kind="phone", value="+49 (151) 234-56789")
    assert resolved.status_code == 200
    assert resolved.json()["id"] == created.json()["id"]
