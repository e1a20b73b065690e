"""DESIGN.md invariants 1–3, each with a test that fails if it breaks."""

from __future__ import annotations

import ast
import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.mail import send_mail
from django.db import connections
from django.utils import timezone

from regard.consent import services as consent_services
from regard.customers.models import Customer
from regard.outreach import gate
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import OutboxMessage
from regard.outreach.sender import Clearance, Relay, SmtpSender
from tests.outreach.helpers import enqueue_for, running_campaign, subscriber

SRC = Path(__file__).resolve().parents[2] / "src" / "regard"
SENDER_MODULE = SRC / "outreach" / "sender.py"
MAIL_MODULES = {"smtplib", "aiosmtplib", "django.core.mail"}
MAIL_CALLS = {
    "send_mail",
    "send_mass_mail",
    "mail_admins",
    "mail_managers",
    "EmailMessage",
    "EmailMultiAlternatives",
    "get_connection",
    "SMTP",
    "SMTP_SSL",
    "SmtpSender",
}


def _mail_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """Imports of a mail module and calls of a mail API, however they are spelled or split over lines."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if a.name in MAIL_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "") in MAIL_MODULES:
            found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in MAIL_CALLS:
                found.append((node.lineno, f"{name}(...)"))
    return found


def test_invariant_1_no_module_but_the_sender_talks_smtp() -> None:
    offenders = []
    openers = set()
    for path in SRC.rglob("*.py"):
        if path == SENDER_MODULE:
            continue
        for number, use in _mail_uses(ast.parse(path.read_text(encoding="utf-8"))):
            if use == "SmtpSender(...)":
                openers.add(str(path.relative_to(SRC)))
            else:
                offenders.append(f"{path.relative_to(SRC)}:{number}: {use}")
    assert not offenders, "only regard/outreach/sender.py may send mail:\n" + "\n".join(offenders)
    # Only the dispatcher and its loop command open a sender.
    assert openers <= {"outreach/dispatcher.py", "outreach/management/commands/dispatch.py"}


def test_the_scan_sees_mail_calls_a_line_regex_would_miss() -> None:
    sneaky = (
        "from django.core import mail as m\nm.send_mail(\n  'hi', 'b', 'a@x', ['b@y'])\nimport smtplib as s\n"
    )
    uses = {use for _, use in _mail_uses(ast.parse(sneaky))}
    assert uses == {"send_mail(...)", "import smtplib"}


def test_invariant_1_djangos_mail_api_refuses_to_send(settings) -> None:
    from regard.config import settings as configured

    # pytest-django swaps in the locmem backend for tests; put back what Regard configures.
    settings.EMAIL_BACKEND = configured.EMAIL_BACKEND
    with pytest.raises(RuntimeError, match="outbox dispatcher"):
        send_mail("hi", "body", "a@example.org", ["b@example.org"])


@pytest.mark.parametrize("outcome", [gate.Outcome.DROP, gate.Outcome.HOLD])
def test_invariant_1_the_sender_refuses_anything_the_gate_did_not_allow(outcome, smtp_server) -> None:
    with pytest.raises(PermissionError):
        Clearance(1, gate.Decision(outcome, (gate.Reason("no_consent", "withdrawn"),)))


def test_invariant_1_a_hand_built_allow_is_no_clearance() -> None:
    # Bypassing the gate at claim time (building the ALLOW instead of asking for it) must fail.
    with pytest.raises(PermissionError, match="not made by the gate"):
        Clearance(1, gate.Decision(gate.Outcome.ALLOW))


def test_invariant_1_the_gates_own_allow_clears_and_a_copy_of_it_does_not() -> None:
    message = gate.Message(kind=gate.Kind.SERVICE, purpose="service", channel="email", content_key="k")
    state = gate.ContactState(time_zone="UTC", has_address=True)
    decision = gate.decide(message, state, datetime(2026, 6, 3, 12, tzinfo=UTC))
    assert decision.allowed
    assert Clearance(1, decision).decision is decision
    with pytest.raises(PermissionError):
        Clearance(1, dataclasses.replace(decision))


@pytest.mark.django_db(transaction=True)
def test_invariant_2_unsubscribe_mid_campaign_stops_every_later_message(smtp_server) -> None:
    """S13: the person withdraws while the campaign is going out; nothing more reaches them."""
    recorder, relay = smtp_server
    campaign = running_campaign()
    people = [subscriber() for _ in range(30)]
    for customer, _ in people:
        enqueue_for(campaign, customer)
    quitter, quitter_address = people[20]
    withdrawn_at: list[int] = []

    def withdraw_after_fifth(_message: object) -> None:
        if len(recorder.received) == 5 and not withdrawn_at:
            consent_services.consent_withdraw(
                actor=None,
                customer=Customer.objects.get(pk=quitter.pk),
                purpose="newsletter",
                channel="email",
                source="unsubscribe_link",
            )
            withdrawn_at.append(len(recorder.received))

    recorder.on_message = withdraw_after_fifth
    sender = SmtpSender(Relay.from_url(relay))
    try:
        # One batch: the gate already said yes to everyone at claim time.
        stats = dispatch_batch(sender=sender, limit=100)
    finally:
        sender.close()
    assert withdrawn_at == [5]
    assert stats["stopped_before_send"] == 1
    assert recorder.to(quitter_address) == []
    assert len(recorder.received) == 29
    row = OutboxMessage.objects.get(customer=quitter)
    assert row.state == OutboxMessage.State.DROPPED
    assert row.gate_reasons[0]["code"] == "no_consent"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("reason", ["hard_bounce", "complaint"])
def test_invariant_2_a_suppression_mid_campaign_stops_every_later_message(smtp_server, reason: str) -> None:
    """A bounce or spam complaint that commits mid-send stops the next message to that address."""
    recorder, relay = smtp_server
    campaign = running_campaign()
    # Consent given a day ago: only the suppression itself is a change the dispatcher must see.
    people = [subscriber(granted_at=timezone.now() - timedelta(days=1)) for _ in range(30)]
    for customer, _ in people:
        enqueue_for(campaign, customer)
    _, victim_address = people[20]
    suppressed_at: list[int] = []

    def suppress_after_fifth(_message: object) -> None:
        if len(recorder.received) == 5 and not suppressed_at:
            consent_services.suppression_add(
                actor=None, kind="email", normalised_value=victim_address, reason=reason, via="test"
            )
            suppressed_at.append(len(recorder.received))

    recorder.on_message = suppress_after_fifth
    sender = SmtpSender(Relay.from_url(relay))
    try:
        stats = dispatch_batch(sender=sender, limit=100)
    finally:
        sender.close()
    assert suppressed_at == [5]
    assert stats["stopped_before_send"] == 1
    assert recorder.to(victim_address) == []
    assert len(recorder.received) == 29
    row = OutboxMessage.objects.get(to_address=victim_address)
    assert row.state == OutboxMessage.State.DROPPED
    assert row.gate_reasons[0]["code"] == "suppressed"


@pytest.mark.django_db
def test_invariant_3_enqueue_twice_and_dispatch_twice_delivers_once(smtp_server, sender) -> None:
    recorder, _ = smtp_server
    campaign = running_campaign()
    customer, address = subscriber()
    first = enqueue_for(campaign, customer)
    second = enqueue_for(campaign, customer)
    assert first.pk == second.pk
    dispatch_batch(sender=sender)
    dispatch_batch(sender=sender)
    # A second campaign row with the same content (a runaway re-send, S12) is dropped by the gate.
    from regard.outreach.services import outbox_enqueue

    outbox_enqueue(
        customer=customer,
        kind="marketing",
        purpose="newsletter",
        dedupe_key="runaway-copy",
        content_key=f"campaign:{campaign.pk}",
        campaign=campaign,
    )
    dispatch_batch(sender=sender)
    assert len(recorder.to(address)) == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_invariant_3_concurrent_dispatchers_deliver_each_message_once(smtp_server) -> None:
    """Three workers claim with SKIP LOCKED; every message arrives exactly once.

    PostgreSQL only: the test database of SQLite is a shared in-memory one whose
    table locks ignore the busy timeout, so threads cannot share it.
    """
    recorder, relay = smtp_server
    campaign = running_campaign()
    addresses = []
    for _ in range(60):
        customer, address = subscriber()
        enqueue_for(campaign, customer)
        addresses.append(address)
    errors: list[BaseException] = []

    def worker() -> None:
        sender = SmtpSender(Relay.from_url(relay))
        try:
            for _ in range(40):
                if not dispatch_batch(sender=sender, limit=7)["claimed"]:
                    break
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            sender.close()
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    delivered = [rcpt for r in recorder.received for rcpt in r.rcpt_tos]
    assert sorted(delivered) == sorted(addresses)
    ids = [r.message["Message-ID"] for r in recorder.received]
    assert len(ids) == len(set(ids))
