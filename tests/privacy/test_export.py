"""GDPR Art. 15/20: one archive with everything held about a person, and who may have it."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from regard.privacy.models import AuditEntry, DataExport
from regard.privacy.roles import Role
from tests.customers.factories import make_customer
from tests.privacy.export_builders import ATTACHMENT_BYTES, everything, run_tasks

pytestmark = pytest.mark.django_db

PARTS = {
    "profile",
    "identifiers",
    "orders",
    "consent_history",
    "preference_changes",
    "messages",
    "journeys",
    "conversations",
    "timeline",
    "promises",
    "remedy_grants",
    "exceptions",
    "recovery_items",
    "match_decisions",
    "merges",
    "feedback_reports",
    "exports",
    "access_log",
}


def _archive(api: Any, customer_id: int) -> zipfile.ZipFile:
    started = api.post(f"customers/{customer_id}/export")
    assert started.status_code == 202, started.content
    assert started.json()["state"] == "queued"
    run_tasks()
    done = api.get(f"customers/{customer_id}/exports/{started.json()['id']}").json()
    assert done["state"] == "done", done
    assert done["progress"] == 100
    download = api.get(done["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(download.content))


def _part(archive: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    return json.loads(archive.read(f"data/{name}.json"))


def test_an_export_of_a_customer_with_data_in_every_app_holds_every_part(
    make_user: Any, admin_api: Any
) -> None:
    agent = make_user(Role.AGENT)
    person = everything(agent)
    archive = _archive(admin_api, person.customer.pk)

    manifest = json.loads(archive.read("manifest.json"))
    assert set(manifest["parts"]) == PARTS
    empty = sorted(name for name in PARTS if not _part(archive, name))
    assert empty == []
    assert sorted(manifest["profiles"]) == sorted([person.customer.pk, person.absorbed.pk])

    # The merge group is read: both profiles, and the absorbed profile's own timeline.
    assert {p["id"] for p in _part(archive, "profile")} == {person.customer.pk, person.absorbed.pk}
    assert person.absorbed.pk in {e["customer_id"] for e in _part(archive, "timeline")}
    assert {i["kind"] for i in _part(archive, "identifiers")} >= {"email", "account", "phone"}
    # Orders with their lines; consent with its proof; the gate's decisions on each message.
    assert _part(archive, "orders")[0]["lines"][0]["product"]["name"]
    assert all("proof" in e for e in _part(archive, "consent_history"))
    decisions = {m["gate_decision"]["outcome"] for m in _part(archive, "messages")}
    assert {"allow", "hold", "drop"} <= decisions
    sent = next(m for m in _part(archive, "messages") if m["state"] == "sent")
    assert sent["content"]["body"].strip()
    # Conversations with messages, the attachment's bytes themselves in the zip.
    conversations = _part(archive, "conversations")
    attachments = [a for c in conversations for m in c["messages"] for a in m["attachments"]]
    assert [a["filename"] for a in attachments] == ["receipt.pdf"]
    assert archive.read(attachments[0]["file"]) == ATTACHMENT_BYTES
    assert all(c["token"] for c in conversations)  # the reference the customer was given
    assert any(c["survey"] and c["survey"]["score"] == 2 for c in conversations)
    # Art. 15(1)(c): who in the company read the data, staff named.
    readers = {e["actor_label"] for e in _part(archive, "access_log")}
    assert agent.get_username() in readers
    assert _part(archive, "match_decisions")[0]["decided_by"] == agent.get_username()
    assert "summary.html" in archive.namelist()


def test_the_summary_is_in_german_for_a_german_customer(make_user: Any, admin_api: Any) -> None:
    person = everything(make_user(Role.AGENT), language="de-DE")
    summary = _archive(admin_api, person.customer.pk).read("summary.html").decode()
    assert '<html lang="de">' in summary
    for text in ("Ihre Daten", "Was das Archiv enthält", "Gespräche mit dem Kundendienst", "Bestellungen"):
        assert text in summary
    assert "What the archive holds" not in summary


def test_the_summary_is_in_english_for_an_english_customer(admin_api: Any) -> None:
    customer = make_customer(language="en-GB")
    summary = _archive(admin_api, customer.pk).read("summary.html").decode()
    assert "What the archive holds" in summary
    assert '<html lang="en">' in summary


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER, Role.MARKETER, Role.ANALYST, Role.PARTNER])
def test_only_admins_may_export(api_for: Any, role: Role) -> None:
    customer = make_customer()
    response = api_for(role).post(f"customers/{customer.pk}/export")
    assert response.status_code == 403
    assert response.json()["capability"] == "customer.export"
    assert not DataExport.objects.exists()
    assert not AuditEntry.objects.filter(action="export").exists()


def test_other_roles_may_not_read_or_download_an_export(api_for: Any, admin_api: Any) -> None:
    customer = make_customer()
    export_id = admin_api.post(f"customers/{customer.pk}/export").json()["id"]
    run_tasks()
    agent = api_for(Role.AGENT)
    assert agent.get(f"customers/{customer.pk}/exports/{export_id}").status_code == 403
    assert agent.get(f"customers/{customer.pk}/exports/{export_id}/archive").status_code == 403
    assert agent.post(f"customers/{customer.pk}/exports/{export_id}/send-link").status_code == 403
    assert not AuditEntry.objects.filter(action="export", detail__event="downloaded").exists()


def test_an_unknown_customer_is_a_404_naming_the_field_and_changes_nothing(admin_api: Any) -> None:
    response = admin_api.post("customers/987654321/export")
    assert response.status_code == 404
    assert response.json()["field"] == "id"
    assert not DataExport.objects.exists()
    assert not AuditEntry.objects.filter(action="export").exists()


def test_an_export_of_another_customer_is_not_found_under_this_one(admin_api: Any) -> None:
    first, second = make_customer(), make_customer()
    export_id = admin_api.post(f"customers/{first.pk}/export").json()["id"]
    response = admin_api.get(f"customers/{second.pk}/exports/{export_id}")
    assert response.status_code == 404
    assert response.json()["field"] == "export_id"
    assert admin_api.get(f"customers/{second.pk}/exports/{export_id}/archive").status_code == 404


def test_an_unfinished_export_cannot_be_downloaded(admin_api: Any) -> None:
    customer = make_customer()
    export_id = admin_api.post(f"customers/{customer.pk}/export").json()["id"]
    response = admin_api.get(f"customers/{customer.pk}/exports/{export_id}/archive")
    assert response.status_code == 409
    assert response.json()["field"] == "state"
    assert response.json()["detail"].startswith("state: the export is queued")


def test_every_export_is_audited_request_build_and_download(make_user: Any, admin_api: Any) -> None:
    customer = make_customer()
    archive = _archive(admin_api, customer.pk)
    events = list(
        AuditEntry.objects.filter(action="export", customer_id=customer.pk)
        .order_by("id")
        .values_list("detail__event", "via")
    )
    assert events == [("requested", "api"), ("built", "system"), ("downloaded", "api")]
    # The request itself is in the archive's access log (it was read for the export).
    assert "requested" in {e["detail"].get("event") for e in _part(archive, "access_log")}


def test_a_merged_away_id_exports_the_person_it_was_merged_into(make_user: Any, admin_api: Any) -> None:
    person = everything(make_user(Role.AGENT))
    started = admin_api.post(f"customers/{person.absorbed.pk}/export").json()
    assert started["customer_id"] == person.customer.pk


def test_the_service_itself_refuses_a_role_without_the_capability(make_user: Any) -> None:
    """Pages, the API and tasks all call the service, so the check lives there too (invariant 6)."""
    from regard.errors import PermissionDenied
    from regard.privacy.export import export_request

    customer = make_customer()
    with pytest.raises(PermissionDenied):
        export_request(actor=make_user(Role.AGENT), customer_id=customer.pk)
    assert not DataExport.objects.exists()


@pytest.mark.parametrize("bad", ["9223372036854775808", "99999999999999999999999"])
def test_ids_out_of_range_are_4xx_not_500(admin_api: Any, bad: str) -> None:
    customer = make_customer()
    for response in (
        admin_api.post(f"customers/{bad}/export"),
        admin_api.get(f"customers/{customer.pk}/exports/{bad}"),
        admin_api.get(f"customers/{bad}/exports"),
    ):
        assert 400 <= response.status_code < 500, response.content
        assert response.json()["field"]
    assert not DataExport.objects.exists()
