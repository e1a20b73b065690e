"""An admin exports everything held about a customer from Customer 360 (Art. 15/20)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from regard.customers import services
from regard.privacy.roles import Role
from tests.privacy.export_builders import run_worker

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_admin_exports_a_customer_from_customer_360_and_downloads_the_archive(
    live_server: object, page: Page, make_user: Callable[..., User], sign_in: Callable[..., None]
) -> None:
    make_user(Role.ADMIN, username="admin-ada")
    customer = services.customer_create(
        actor=None,
        preferred_name="Grete",
        language="de",
        identifiers=[services.IdentifierInput("email", "grete@example.org")],
    )
    base_url = str(live_server)
    sign_in(base_url, "admin-ada")
    page.goto(f"{base_url}/customers/{customer.pk}/")

    panel = page.get_by_test_id("export-panel")
    page.get_by_test_id("export-start").click()
    expect(panel.get_by_test_id("export")).to_have_attribute("data-state", "queued")
    run_worker()  # `regard worker`: the panel polls and shows the finished export
    expect(panel.get_by_test_id("export-download")).to_be_visible(timeout=10_000)

    with page.expect_download() as download:
        panel.get_by_test_id("export-download").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    identifiers = json.loads(archive.read("data/identifiers.json"))
    assert [i["value_normalised"] for i in identifiers] == ["grete@example.org"]
    assert "Ihre Daten" in archive.read("summary.html").decode()
