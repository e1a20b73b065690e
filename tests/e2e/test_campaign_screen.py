"""A marketer drafts a campaign, reads the gate's preview, launches it and watches it go out (C3)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from regard.consent import services as consent_services
from regard.customers import services
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.sender import Relay, SmtpSender
from regard.privacy.roles import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


class Sink:
    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, str]]:
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


def _midday_zone(now: datetime) -> str:
    offset = (12 - now.hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"


def _icelanders() -> None:
    """Three customers in Iceland: two signed up for the newsletter, one never did."""
    zone = _midday_zone(timezone.now())
    for number, signed_up in enumerate((True, True, False)):
        customer = services.customer_create(
            actor=None,
            preferred_name=f"Sigrún {number}",
            formality="informal",
            country="IS",
            time_zone=zone,
            identifiers=[services.IdentifierInput("email", f"sigrun{number}@example.is")],
        )
        if signed_up:
            consent_services.consent_grant(
                actor=None, customer=customer, purpose="newsletter", channel="email", source="form", proof={}
            )


def test_marketer_previews_launches_and_watches_progress(
    live_server: object,
    page: Page,
    make_user: Callable[..., User],
    sign_in: Callable[..., None],
    smtp_sink: tuple[Sink, str],
    settings: Any,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    settings.DATA_DIR = tmp_path  # the DKIM key the dispatcher signs with
    make_user(Role.MARKETER, username="marketer-mia")
    _icelanders()
    base_url = str(live_server)

    sign_in(base_url, "marketer-mia")
    page.goto(f"{base_url}/campaigns/")
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Iceland spring letter")
    page.get_by_label("Subject").fill("Spring in Reykjavík")
    page.get_by_label("Body").fill("{{ greeting }},\n\nThe puffins are back.")
    page.get_by_label("Audience rule (JSON)").fill('{"countries": ["IS"]}')
    page.get_by_role("button", name="Create draft").click()

    expect(page.get_by_test_id("campaign-state")).to_have_text("draft")
    # The preview arrives by htmx: what the gate would do with each of the three right now.
    expect(page.get_by_test_id("preview-matched")).to_contain_text("3 customers match the rule")
    expect(page.get_by_test_id("preview-allow")).to_have_text("2")
    expect(page.get_by_test_id("preview-hold")).to_have_text("0")
    expect(page.get_by_test_id("preview-drop")).to_have_text("1")
    expect(page.get_by_test_id("preview-reason").filter(has_text="no consent")).to_contain_text("1")
    samples = page.get_by_test_id("preview-sample")
    expect(samples.first).to_contain_text("Hi S•••")
    expect(samples.first).not_to_contain_text("Sigrún")  # a marketer does not read customers
    page.screenshot(path=str(artifacts_dir / "campaign-preview.png"), full_page=True)

    page.get_by_role("button", name="Launch…").click()
    page.get_by_role("button", name="Yes, launch to 3").click()
    expect(page.get_by_test_id("campaign-state")).to_have_text("running")
    expect(page.get_by_test_id("count-pending")).to_have_text("3")
    expect(page.get_by_test_id("count-sent")).to_have_text("0")

    sink, relay = smtp_sink
    sender = SmtpSender(Relay.from_url(relay), timeout=10)
    try:
        dispatch_batch(sender=sender)
    finally:
        sender.close()
    assert sorted(sink.recipients) == ["sigrun0@example.is", "sigrun1@example.is"]
    # No reload: the progress panel polls every 2 s and the counts change on their own.
    expect(page.get_by_test_id("count-sent")).to_have_text("2", timeout=10_000)
    expect(page.get_by_test_id("count-dropped")).to_have_text("1")
    expect(page.get_by_test_id("count-pending")).to_have_text("0")
    page.screenshot(path=str(artifacts_dir / "campaign-progress.png"), full_page=True)
