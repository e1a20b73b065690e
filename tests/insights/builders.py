"""A customer whose mirror can be counted by hand, made through the services that keep the records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User

from regard.consent import services as consent_services
from regard.customers.models import Customer
from regard.outreach.models import InboundFeedback, OutboxMessage
from regard.outreach.services import outbox_enqueue
from regard.policies.services.promises import promise_break_if_due, promise_record
from regard.support import services as support_services
from regard.support import surveys
from regard.support.models import Conversation, SlaPolicy
from regard.support.sla import sla_recompute
from tests.customers.factories import make_customer, make_order, unique

# A Friday afternoon; the period is the four weeks before it (default calendar: Mon–Fri 9–17 UTC).
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=28)  # Friday 23 Oct


def at(day: str, clock: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{clock}:00+00:00")


def delivered(
    customer: Customer,
    when: datetime,
    *,
    kind: str = "marketing",
    purpose: str = "newsletter",
    channel: str = "email",
    state: str = OutboxMessage.State.SENT,
) -> OutboxMessage:
    """A message queued through the outbox and recorded as the dispatcher records a send."""
    row, _ = outbox_enqueue(
        customer=customer,
        kind=kind,
        purpose=purpose,
        channel=channel,
        dedupe_key=f"mirror-test:{unique()}",
        subject="News",
        body="{{ greeting }}",
        now=when,
    )
    OutboxMessage.objects.filter(pk=row.pk).update(state=state, sent_at=when, gate_outcome="allow")
    return row


def gate_said(customer: Customer, when: datetime, *, outcome: str, reasons: list[dict[str, str]]) -> None:
    row, _ = outbox_enqueue(
        customer=customer,
        kind="marketing",
        purpose="offers",
        dedupe_key=f"mirror-test:{unique()}",
        subject="Offer",
        body="{{ greeting }}",
        now=when,
    )
    state = OutboxMessage.State.DROPPED if outcome == "drop" else OutboxMessage.State.PENDING
    OutboxMessage.objects.filter(pk=row.pk).update(state=state, gate_outcome=outcome, gate_reasons=reasons)


@dataclass
class Story:
    customer: Customer
    complaint: Conversation
    call: Conversation
    account: str


def story(agent: User, **profile: Any) -> Story:
    """The hand-counted customer of tests/insights/test_mirror.py (expected figures there)."""
    account = f"ACC-{unique()}"
    customer = make_customer(
        identifiers=[("email", f"mirror{unique()}@example.org"), ("account", account)],
        time_zone="UTC",
        now=at("10-01", "08:00"),
        **profile,
    )
    make_order(customer=customer, purchased_at=at("10-01"))
    consent_services.preferences_set(
        actor=None, customer=customer, max_messages_per_week=2, source="preference_page", now=at("10-02")
    )
    # Contacts: week of 26 Oct 3 marketing + 1 service (above her 2 and the cap of 3 → min 2);
    # week of 9 Nov 1 marketing + 1 service by sms. Outside: one before the period, one failed.
    for day in ("10-26", "10-27", "10-28"):
        delivered(customer, at(day))
    delivered(customer, at("10-29"), kind="service", purpose="service")
    delivered(customer, at("11-10"))
    delivered(customer, at("11-11"), kind="service", purpose="service", channel="sms")
    delivered(customer, at("10-01"))
    delivered(customer, at("11-12"), state=OutboxMessage.State.FAILED)
    # The gate: held twice by quiet hours, dropped once for an excluded topic, once for consent
    # (a quiet-hours reason beside a drop is not why it was dropped).
    quiet = {"code": "quiet_hours", "detail": "night-time in UTC"}
    gate_said(customer, at("11-13", "22:00"), outcome="hold", reasons=[quiet])
    gate_said(customer, at("11-14", "23:00"), outcome="hold", reasons=[quiet])
    gate_said(
        customer,
        at("11-15"),
        outcome="drop",
        reasons=[{"code": "topic_excluded", "detail": "customer excluded offers"}],
    )
    gate_said(
        customer,
        at("11-16"),
        outcome="drop",
        reasons=[{"code": "no_consent", "detail": "consent to offers by email never given"}, quiet],
    )
    # A complaint: opened Mon 2 Nov 09:00, first answer Tue 13:00 (12 working hours against 8),
    # she writes again Wed 10:00, answered 11:00, resolved Thu 10:00, rated 2 of 5.
    if not SlaPolicy.objects.filter(team__isnull=True, kind="complaint").exists():
        SlaPolicy.objects.create(
            kind="complaint", first_response_minutes=480, next_response_minutes=240, resolution_minutes=2400
        )
    complaint = support_services.conversation_open(
        customer=customer, channel="email", kind="complaint", subject="Broken earphones", via="api",
        now=at("11-02", "09:00"),
    )  # fmt: skip
    support_services.message_receive(
        conversation=complaint, body_text="They stopped working.", now=at("11-02", "09:00")
    )
    sla_recompute(conversation_id=complaint.pk, now=at("11-02", "09:00"))
    support_services.reply_send(
        actor=agent,
        conversation=complaint,
        body_text="Hello, sorry to hear that. Please send us your order number.",
        override=True,
        via="api",
        now=at("11-03", "13:00"),
    )
    support_services.message_receive(
        conversation=complaint, body_text="You have it already.", now=at("11-04", "10:00")
    )
    support_services.reply_send(
        actor=agent, conversation=complaint, body_text="Hello, a replacement is on its way.", override=True,
        via="api", now=at("11-04", "11:00"),
    )  # fmt: skip
    support_services.conversation_set_status(
        actor=agent, conversation=complaint, status="resolved", via="api", now=at("11-05", "10:00")
    )
    survey = surveys.survey_request(conversation_id=complaint.pk, now=at("11-05", "10:05"))
    assert survey is not None
    surveys.survey_answer(survey=survey, score=2, comment="Too slow.", now=at("11-05", "12:00"))
    # She phoned on Wednesday while the complaint was open and gave her account number again.
    call = support_services.conversation_open(
        customer=customer, channel="phone", subject="About my earphones", via="api", now=at("11-04", "09:00")
    )
    support_services.message_receive(
        conversation=call, body_text=f"My account is {account.lower()}.", now=at("11-04", "09:00")
    )
    # A promise due Tue 3 Nov 17:00, broken when the due time passed.
    promise = promise_record(
        customer=customer,
        kind="callback",
        what="Call back about the earphones",
        owner=agent,
        actor=agent,
        conversation=complaint,
        due_at=at("11-03", "17:00"),
        now=at("11-02", "12:00"),
    )
    promise_break_if_due(promise_id=promise.pk, now=at("11-03", "17:01"))
    consent_services.consent_grant(
        actor=None, customer=customer, purpose="newsletter", channel="email", source="form", now=at("10-01")
    )
    consent_services.consent_withdraw(
        actor=None,
        customer=customer,
        purpose="newsletter",
        channel="email",
        source="unsubscribe_link",
        now=at("11-10", "12:00"),
    )
    for kind, day in ((InboundFeedback.Kind.COMPLAINT, "11-11"), (InboundFeedback.Kind.BOUNCE, "11-12")):
        InboundFeedback.objects.create(
            kind=kind,
            status=InboundFeedback.Status.APPLIED,
            rcpt_to="feedback@regard.localhost",
            customer=customer,
            raw="(report)",
            detail=f"{kind} report",
            received_at=at(day),
        )
    return Story(customer=customer, complaint=complaint, call=call, account=account)
