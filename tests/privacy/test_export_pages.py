"""The export on Customer 360: a button for admins, the state while it runs, the download."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from regard.outreach.models import OutboxMessage
from regard.privacy.models import AuditEntry, DataExport
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, unique
from tests.privacy.export_builders import run_tasks, run_worker

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)  # the worker opens its own connections
def test_an_admin_starts_an_export_on_customer_360_and_downloads_it(make_user: Any) -> None:
    customer = make_customer(preferred_name="Ada")
    client = signed_in(make_user(Role.ADMIN))
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'data-testid="export-start"' in page
    assert "No exports yet." in page

    started = client.post(reverse("privacy_export:start", args=[customer.pk]), headers={"HX-Request": "true"})
    assert started.status_code == 200
    panel = started.content.decode()
    assert 'data-state="queued"' in panel
    assert 'hx-trigger="every 2s"' in panel  # the panel watches the export while it runs

    run_worker()  # the real `regard worker`, one pass
    panel = client.get(reverse("privacy_export:panel", args=[customer.pk])).content.decode()
    assert 'data-state="done"' in panel
    assert "every 2s" not in panel
    export = DataExport.objects.get(customer=customer)
    download = client.get(reverse("privacy_export:download", args=[customer.pk, export.pk]))
    assert download.status_code == 200
    assert "summary.html" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    events = list(
        AuditEntry.objects.filter(action="export").order_by("id").values_list("detail__event", "via")
    )
    assert events == [("requested", "web"), ("built", "system"), ("downloaded", "web")]


def test_an_agent_sees_no_export_button_and_cannot_start_one(make_user: Any) -> None:
    customer = make_customer()
    client = signed_in(make_user(Role.AGENT))
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "export-start" not in page
    assert client.post(reverse("privacy_export:start", args=[customer.pk])).status_code == 403
    assert client.get(reverse("privacy_export:panel", args=[customer.pk])).status_code == 403
    assert not DataExport.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(make_user: Any) -> None:
    customer = make_customer()
    response = Client().post(reverse("privacy_export:start", args=[customer.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not DataExport.objects.exists()


def test_the_send_link_button_sends_it(make_user: Any) -> None:
    customer = make_customer(identifiers=[("email", f"ada{unique()}@example.org")])
    client = signed_in(make_user(Role.ADMIN))
    client.post(reverse("privacy_export:start", args=[customer.pk]))
    run_tasks()
    export = DataExport.objects.get(customer=customer)
    panel = client.post(
        reverse("privacy_export:send_link", args=[customer.pk, export.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "link sent" in panel
    assert OutboxMessage.objects.filter(customer=customer, kind="service").count() == 1
