"""Retention (Art. 5(1)(e)): what outlived its period goes; the dry run counts exactly that."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from regard.consent import services as consent_services
from regard.consent.models import ConsentEvent
from regard.customers.models import Customer, TimelineEvent
from regard.outreach.models import OutboxMessage
from regard.outreach.services import outbox_enqueue
from regard.privacy import export as export_services
from regard.privacy import retention
from regard.privacy.models import AuditEntry, DataExport
from regard.privacy.services import audit_record
from regard.support import services as support_services
from regard.support.models import Attachment, Conversation, Message
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db

NOW = timezone.now()
LONG_AGO = NOW - timedelta(days=1200)  # past every default period
LATELY = NOW - timedelta(days=10)  # inside every default period


def _conversation(customer: Customer, *, when: datetime, status: str) -> Conversation:
    conversation = support_services.conversation_open(
        customer=customer, channel="email", subject="Earphones", via="api", now=when
    )
    support_services.message_receive(
        conversation=conversation,
        body_text="They broke.",
        attachments=[support_services.AttachmentInput("photo.jpg", "image/jpeg", b"\xff\xd8 photo")],
        now=when,
    )
    if status != "open":
        support_services.conversation_set_status(
            actor=None, conversation=conversation, status=status, via="api", now=when
        )
    return conversation


def _sent(customer: Customer, *, when: datetime, state: str = OutboxMessage.State.SENT) -> OutboxMessage:
    row, _ = outbox_enqueue(
        customer=customer,
        kind="service",
        purpose="service",
        dedupe_key=f"retention-test:{unique()}",
        subject="Your receipt",
        body="{{ greeting }}, thanks for order {{ order }}.",
        context={"order": "R-1"},
        now=when,
    )
    OutboxMessage.objects.filter(pk=row.pk).update(state=state, sent_at=when if state == "sent" else None)
    return row


def _export(
    admin: Any, customer: Customer, *, when: datetime, link_sent: datetime | None = None
) -> DataExport:
    export = export_services.export_request(actor=admin, customer_id=customer.pk, now=when)
    export_services.export_build(export_id=export.pk, now=when)
    if link_sent:
        DataExport.objects.filter(pk=export.pk).update(link_sent_at=link_sent)
    return export


@pytest.fixture
def records(make_user: Any) -> dict[str, Any]:
    from regard.privacy.roles import Role

    admin = make_user(Role.ADMIN)
    customer = make_customer(identifiers=[("email", f"kept{unique()}@example.org")])
    consent_services.consent_grant(
        actor=None, customer=customer, purpose="newsletter", channel="email", source="form", now=LONG_AGO
    )
    audit_record(actor=admin, action="read", object_type="customer", customer_id=customer.pk, now=LONG_AGO)
    return {
        "customer": customer,
        "old_closed": _conversation(customer, when=LONG_AGO, status="closed"),
        "old_resolved": _conversation(customer, when=LONG_AGO, status="resolved"),
        "old_open": _conversation(customer, when=LONG_AGO, status="open"),
        "recent_closed": _conversation(customer, when=LATELY, status="closed"),
        "old_sent": _sent(customer, when=LONG_AGO),
        "old_pending": _sent(customer, when=LONG_AGO, state=OutboxMessage.State.PENDING),
        "recent_sent": _sent(customer, when=LATELY),
        "old_export": _export(admin, customer, when=LONG_AGO),
        "old_export_linked_lately": _export(admin, customer, when=LONG_AGO, link_sent=LATELY),
        "recent_export": _export(admin, customer, when=LATELY),
    }


def _dry_run() -> dict[str, int]:
    out = io.StringIO()
    call_command("retention", "--dry-run", stdout=out)
    counts = {}
    for line in out.getvalue().splitlines():
        name, count, *_ = line.split("\t")
        counts[name] = int(count)
    return counts


def _snapshot() -> tuple[Any, ...]:
    return (
        list(Message.objects.order_by("pk").values_list("body_text", "raw")),
        Attachment.objects.count(),
        AuditEntry.objects.count(),
        list(OutboxMessage.objects.order_by("pk").values_list("body", "context")),
        list(DataExport.objects.order_by("pk").values_list("state", flat=True)),
    )


def test_the_dry_run_counts_what_a_real_run_then_removes(records: dict[str, Any]) -> None:
    before = _snapshot()
    planned = _dry_run()
    assert _snapshot() == before, "a dry run changes nothing"
    assert planned["conversation_messages"] == 2  # one customer message in each old finished conversation
    assert planned["conversation_attachments"] == 2
    assert planned["outbox_bodies"] == 1
    assert planned["export_archives"] == 1
    old_audit = AuditEntry.objects.filter(occurred_at__lt=NOW - timedelta(days=730)).count()
    assert planned["audit_entries"] == old_audit > 0

    out = io.StringIO()
    call_command("retention", stdout=out)
    removed = {line.split("\t")[0]: int(line.split("\t")[1]) for line in out.getvalue().splitlines()}
    assert removed == planned
    assert set(_dry_run().values()) == {0}, "nothing is left for a second run"


def test_a_run_removes_only_what_outlived_its_period(records: dict[str, Any]) -> None:
    retention.retention_enforce(now=NOW)

    def texts(conversation: Conversation) -> list[str]:
        return list(conversation.messages.values_list("body_text", flat=True))

    assert set(texts(records["old_closed"])) == {""}
    assert set(texts(records["old_resolved"])) == {""}
    assert not Attachment.objects.filter(message__conversation=records["old_closed"]).exists()
    # An open conversation is still being worked; a recent one is inside its period.
    assert "They broke." in texts(records["old_open"])
    assert "They broke." in texts(records["recent_closed"])
    assert Attachment.objects.filter(message__conversation=records["recent_closed"]).count() == 1

    old_sent = OutboxMessage.objects.get(pk=records["old_sent"].pk)
    assert (old_sent.subject, old_sent.body, old_sent.context) == ("", "", {})
    # The fact of the send stays (frequency caps, the mirror).
    assert old_sent.state == "sent"
    assert old_sent.sent_at
    assert OutboxMessage.objects.get(pk=records["old_pending"].pk).body  # not sent yet: kept
    assert OutboxMessage.objects.get(pk=records["recent_sent"].pk).body

    old = DataExport.objects.get(pk=records["old_export"].pk)
    assert (old.state, old.archive, old.archive_removed_at) == ("expired", None, NOW)
    # A link sent lately keeps its archive for the period after the link.
    assert DataExport.objects.get(pk=records["old_export_linked_lately"].pk).archive
    assert DataExport.objects.get(pk=records["recent_export"].pk).archive

    assert not AuditEntry.objects.filter(occurred_at__lt=NOW - timedelta(days=730)).exists()
    run = AuditEntry.objects.get(action="retention")
    assert run.detail["removed"]["export_archives"] == 1


def test_the_timeline_and_consent_ledger_are_never_touched(records: dict[str, Any]) -> None:
    timeline = list(TimelineEvent.objects.order_by("pk").values_list("pk", "summary", "data"))
    ledger = list(ConsentEvent.objects.order_by("pk").values_list("pk", "action", "proof"))
    retention.retention_enforce(now=NOW + timedelta(days=5000))
    assert list(TimelineEvent.objects.order_by("pk").values_list("pk", "summary", "data")) == timeline
    assert list(ConsentEvent.objects.order_by("pk").values_list("pk", "action", "proof")) == ledger


def test_a_period_of_zero_keeps_that_kind_for_ever(records: dict[str, Any], settings: Any) -> None:
    settings.REGARD_RETENTION_AUDIT_DAYS = 0
    out = io.StringIO()
    call_command("retention", "--dry-run", stdout=out)
    assert "audit_entries\tkept for ever" in out.getvalue()
    count = AuditEntry.objects.count()
    assert retention.retention_enforce(now=NOW)["audit_entries"] is None
    assert AuditEntry.objects.count() == count + 1  # only the run's own entry


@pytest.mark.django_db(transaction=True)  # the worker opens its own connections
def test_the_task_runs_and_schedules_the_next_run_a_day_later(records: dict[str, Any]) -> None:
    from django_tasks_db.models import DBTaskResult

    retention.retention_kick_off()
    retention.retention_kick_off()  # a running chain is left alone
    waiting = DBTaskResult.objects.filter(task_path=retention.retention_task.module_path, status="READY")
    assert waiting.count() == 1
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert DataExport.objects.get(pk=records["old_export"].pk).state == "expired"
    [next_run] = waiting
    assert next_run.run_after is not None
    assert timedelta(hours=23) < next_run.run_after - timezone.now() <= timedelta(days=1)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"REGARD_RETENTION_AUDIT_DAYS": "-1"}, "REGARD_RETENTION_"),
        ({"REGARD_EXPORT_LINK_DAYS": "0"}, "REGARD_EXPORT_LINK_DAYS"),
        # An archive removed before its link expires would break the promise the link made.
        (
            {"REGARD_EXPORT_LINK_DAYS": "14", "REGARD_RETENTION_EXPORT_DAYS": "7"},
            "REGARD_RETENTION_EXPORT_DAYS",
        ),
    ],
)
def test_settings_that_contradict_themselves_are_refused_at_start(
    tmp_path: Any, overrides: dict[str, str], named: str
) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("REGARD_")}
    env |= {"DJANGO_SETTINGS_MODULE": "regard.config.settings", "REGARD_DATA_DIR": str(tmp_path), **overrides}
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True
    )
    assert started.returncode != 0
    assert named in started.stderr
