"""The customer's own download: a signed link that expires, sent through the outbox and the gate."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core import signing
from django.test import Client

from regard.consent.services import suppression_add
from regard.customers.normalise import normalise_identifier
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import OutboxMessage
from regard.outreach.sender import SmtpSender
from regard.privacy import export as services
from regard.privacy.models import AuditEntry, DataExport
from tests.customers.factories import make_customer, unique
from tests.outreach.conftest import Recorder, _mail_settings, sender, smtp_server  # noqa: F401
from tests.privacy.export_builders import run_tasks

pytestmark = pytest.mark.django_db
DAY = 86400


@pytest.fixture
def mail(request: pytest.FixtureRequest) -> tuple[Recorder, SmtpSender]:
    """A real SMTP server that keeps what it gets, and the sender that relays to it."""
    recorder, _ = request.getfixturevalue("smtp_server")
    return recorder, request.getfixturevalue("sender")


def _finished_export(admin_api: Any, **profile: Any) -> tuple[DataExport, str]:
    address = f"asker{unique()}@example.org"
    customer = make_customer(identifiers=[("email", address)], time_zone="UTC", **profile)
    export_id = admin_api.post(f"customers/{customer.pk}/export").json()["id"]
    run_tasks()
    return DataExport.objects.get(pk=export_id), address


def _token_aged(export: DataExport, seconds: int) -> str:
    class Aged(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - seconds)

    return Aged(salt=services.LINK_SALT, sep="~").sign_object([export.pk, export.customer_id])


def _path(token: str) -> str:
    return f"/privacy/exports/d/{token}"


def _body(received: Any) -> str:
    part = received.message
    if part.is_multipart():
        part = part.get_payload()[0]
    return part.get_payload(decode=True).decode()


def test_the_link_goes_out_as_a_service_message_and_downloads_the_archive(admin_api: Any, mail: Any) -> None:
    recorder, relay = mail
    export, address = _finished_export(admin_api)
    response = admin_api.post(f"customers/{export.customer_id}/exports/{export.pk}/send-link")
    assert response.status_code == 200, response.content
    assert response.json()["link_sent_at"]
    row = OutboxMessage.objects.get(customer_id=export.customer_id)
    assert (row.kind, row.purpose) == ("service", "service")

    dispatch_batch(sender=relay)
    [mail] = recorder.to(address)
    body = _body(mail)
    assert "7 days" in body
    url = next(word for word in body.split() if "/privacy/exports/d/" in word)
    download = Client().get(url.removeprefix("http://testserver"))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download.content == bytes(DataExport.objects.get(pk=export.pk).archive)
    events = list(
        AuditEntry.objects.filter(action="export", customer_id=export.customer_id)
        .order_by("id")
        .values_list("detail__event", "via")
    )
    assert events[-2:] == [("link_sent", "api"), ("downloaded_by_link", "link")]


def test_the_link_mail_is_in_the_customers_language(admin_api: Any, mail: Any) -> None:
    recorder, relay = mail
    export, address = _finished_export(admin_api, language="de")
    admin_api.post(f"customers/{export.customer_id}/exports/{export.pk}/send-link")
    dispatch_batch(sender=relay)
    [mail] = recorder.to(address)
    assert "Der Link funktioniert 7 Tage lang." in _body(mail)


def test_the_link_passes_the_gate_a_suppressed_address_gets_nothing(admin_api: Any, mail: Any) -> None:
    recorder, relay = mail
    export, address = _finished_export(admin_api)
    suppression_add(
        actor=None,
        kind="email",
        normalised_value=normalise_identifier("email", address),
        reason="hard_bounce",
    )
    admin_api.post(f"customers/{export.customer_id}/exports/{export.pk}/send-link")
    dispatch_batch(sender=relay)
    assert recorder.to(address) == []
    assert OutboxMessage.objects.get(customer_id=export.customer_id).state == OutboxMessage.State.DROPPED


def test_a_link_works_until_it_expires(admin_api: Any) -> None:
    export, _ = _finished_export(admin_api)
    assert Client().get(_path(_token_aged(export, 6 * DAY))).status_code == 200
    expired = Client().get(_path(_token_aged(export, 8 * DAY)))
    assert expired.status_code == 410
    assert "expired" in expired.content.decode()
    assert AuditEntry.objects.filter(detail__event="downloaded_by_link").count() == 1


def test_a_tampered_or_foreign_token_is_refused_and_not_audited(admin_api: Any) -> None:
    export, _ = _finished_export(admin_api)
    token = services.link_token(export=export)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert Client().get(_path(tampered)).status_code == 400
    # A consent link's signature is not an export link's (another salt).
    from regard.consent.tokens import link_token as consent_token

    foreign = consent_token(customer_id=export.customer_id, purpose="newsletter", channel="email")
    assert Client().get(_path(foreign)).status_code == 400
    # A valid signature naming another customer's export is refused as well.
    other = signing.TimestampSigner(salt=services.LINK_SALT, sep="~").sign_object(
        [export.pk, export.customer_id + 1]
    )
    assert Client().get(_path(other)).status_code == 400
    assert not AuditEntry.objects.filter(detail__event="downloaded_by_link").exists()


def test_a_link_to_an_archive_removed_by_retention_is_gone(admin_api: Any) -> None:
    export, _ = _finished_export(admin_api)
    token = services.link_token(export=export)
    DataExport.objects.filter(pk=export.pk).update(archive=None, state=DataExport.State.EXPIRED)
    assert Client().get(_path(token)).status_code == 410


def test_the_public_download_is_rate_limited(admin_api: Any, settings: Any) -> None:
    settings.REGARD_PUBLIC_RATE_LIMIT = "3/m"
    _finished_export(admin_api)
    client, path = Client(), _path("not-a-token")
    assert [client.get(path).status_code for _ in range(4)] == [400, 400, 400, 429]


def test_a_link_cannot_be_sent_before_the_export_is_done(admin_api: Any) -> None:
    customer = make_customer(identifiers=[("email", f"early{unique()}@example.org")])
    export_id = admin_api.post(f"customers/{customer.pk}/export").json()["id"]
    response = admin_api.post(f"customers/{customer.pk}/exports/{export_id}/send-link")
    assert response.status_code == 409
    assert response.json()["field"] == "state"
    assert not OutboxMessage.objects.filter(customer=customer).exists()
