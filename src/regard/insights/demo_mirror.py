"""The mirror in the demo of `regard serve` (C6, seed 004): one customer whose mirror tells the story.

Maren Olsen chose at most 3 messages a week, yet got 23 in 30 days (receipts, support
replies, a journey's reminders and newsletters on top); an agent promised her a call-back
and the due time passed; her complaint waited more than two working days for an answer;
and on the phone she had to give the account number we already had.

Made once (nothing happens when her profile exists), through the services that keep these
records. The past is written with a past ``now``; what the dispatcher would record when a
message goes out (state, time, the timeline row) is recorded the same way here, because the
demo has no relay to deliver last month's mail to.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from regard.consent.services import consent_grant, preferences_set
from regard.customers.models import Customer, Identifier
from regard.customers.services import IdentifierInput, customer_create, timeline_append
from regard.outreach.models import OutboxMessage
from regard.outreach.services import outbox_enqueue
from regard.policies.services.promises import promise_break_if_due, promise_record
from regard.privacy.roles import Role
from regard.privacy.services import user_create
from regard.support import services as support_services
from regard.support.models import Conversation, SlaPolicy
from regard.support.sla import sla_recompute

DEMO_EMAIL = "maren.olsen@example.no"
DEMO_ACCOUNT = "ACC-40404"
DEMO_AGENT = "demo-mirror-agent"
CHOSEN_PER_WEEK = 3


def _delivered(
    customer: Customer,
    *,
    key: str,
    kind: str,
    purpose: str,
    subject: str,
    at: datetime,
    journey: str = "",
) -> OutboxMessage:
    """One message that reached her: queued through the outbox, recorded as the dispatcher records a send."""
    row, _ = outbox_enqueue(
        customer=customer,
        kind=kind,
        purpose=purpose,
        dedupe_key=f"demo-mirror:{key}",
        subject=subject,
        body="{{ greeting }},\n\n" + subject,
        journey=journey,
        now=at,
    )
    OutboxMessage.objects.filter(pk=row.pk).update(
        state=OutboxMessage.State.SENT,
        sent_at=at,
        gate_outcome="allow",
        to_address=DEMO_EMAIL,
        attempts=1,
    )
    timeline_append(
        customer=customer,
        kind="message.sent",
        channel="email",
        summary=f"{kind.capitalize()} message sent ({purpose})",
        occurred_at=at,
        subject=row,
        data={"outbox": row.pk},
    )
    return row


def _gate_said(
    customer: Customer, *, key: str, outcome: str, reasons: list[dict[str, str]], at: datetime
) -> None:
    """A message the gate held (waiting) or dropped, with its reasons as the dispatcher stores them."""
    row, _ = outbox_enqueue(
        customer=customer,
        kind="marketing",
        purpose="offers",
        dedupe_key=f"demo-mirror:{key}",
        subject="Solar panels for your roof",
        body="{{ greeting }},\n\nsolar panels for your roof.",
        topics=["solar"],
        now=at,
    )
    state = OutboxMessage.State.DROPPED if outcome == "drop" else OutboxMessage.State.PENDING
    due = at if outcome == "drop" else at + timedelta(days=60)
    OutboxMessage.objects.filter(pk=row.pk).update(
        state=state, gate_outcome=outcome, gate_reasons=reasons, due_at=due
    )


@transaction.atomic
def mirror_demo_ensure(*, now: datetime | None = None) -> list[str]:
    """Create the seed-004 customer once; answers what was made, for the console."""
    if Identifier.objects.filter(kind="email", value_normalised=DEMO_EMAIL).exists():
        return []
    now = now or timezone.now()
    start = now - timedelta(days=40)
    agent = User.objects.filter(username=DEMO_AGENT).first() or user_create(
        username=DEMO_AGENT, password=None, roles=[Role.AGENT]
    )
    customer = customer_create(
        actor=None,
        preferred_name="Maren",
        formality=Customer.Formality.INFORMAL,
        given_name="Maren",
        family_name="Olsen",
        language="en",
        time_zone="Europe/Oslo",
        country="NO",
        identifiers=[IdentifierInput("email", DEMO_EMAIL), IdentifierInput("account", DEMO_ACCOUNT)],
        source="demo",
        now=start,
    )
    for purpose in ("newsletter", "offers"):
        consent_grant(
            actor=None, customer=customer, purpose=purpose, channel="email", source="form",
            proof={"form_text_version": "demo-signup-1"}, via="cli", now=start,
        )  # fmt: skip
    preferences_set(
        actor=None,
        customer=customer,
        max_messages_per_week=CHOSEN_PER_WEEK,
        excluded_topics=["solar"],
        source="preference_page",
        via="cli",
        now=start + timedelta(hours=1),
    )
    # 22 messages here and the reply to her complaint below: 23 in the last 30 days, 5 to 6 a
    # week against the 3 she chose.
    base = now - timedelta(days=29, hours=3)
    plan = (
        [("service", "service", "Your order has shipped")] * 3
        + [("service", "service", "Re: your complaint")] * 3
        + [("service", "service", "Your invoice")] * 3
        + [("marketing", "newsletter", "What is new this week")] * 5
        + [("marketing", "offers", "Only for you: 20% off")] * 5
        + [("marketing", "offers", "Your cart misses you")] * 3
    )
    for index, (kind, purpose, subject) in enumerate(plan):
        at = base + timedelta(hours=index * 30 + 10)
        _delivered(
            customer,
            key=f"sent-{index}",
            kind=kind,
            purpose=purpose,
            subject=subject,
            at=at,
            journey="abandoned-cart" if "cart" in subject else "",
        )
    for index in range(4):
        _gate_said(
            customer,
            key=f"held-{index}",
            outcome="hold",
            reasons=[{"code": "quiet_hours", "detail": "night-time in Europe/Oslo"}],
            at=now - timedelta(days=3 + index),
        )
    for index in range(2):
        _gate_said(
            customer,
            key=f"dropped-{index}",
            outcome="drop",
            reasons=[{"code": "topic_excluded", "detail": "customer excluded solar"}],
            at=now - timedelta(days=10 + index),
        )
    # A complaint by email that waited more than two working days for its first answer (S14).
    if not SlaPolicy.objects.filter(team__isnull=True, kind="complaint", priority="").exists():
        SlaPolicy.objects.create(kind="complaint", first_response_minutes=480, resolution_minutes=2400)
    opened = _monday_morning(now - timedelta(days=21))
    complaint = support_services.conversation_open(
        customer=customer,
        channel=Conversation.Channel.EMAIL,
        kind=Conversation.Kind.COMPLAINT,
        subject="Charged twice for my order",
        via="cli",
        now=opened,
    )
    support_services.message_receive(
        conversation=complaint,
        body_text="I was charged twice for my order. My account is " + DEMO_ACCOUNT + ".",
        sender_address=DEMO_EMAIL,
        now=opened,
    )
    sla_recompute(conversation_id=complaint.pk, now=opened)
    answered = opened + timedelta(days=2, hours=6)
    reply = support_services.reply_send(
        actor=agent,
        conversation=complaint,
        body_text="Hi Maren, sorry for the double charge. We will call you back by Thursday noon.",
        # The promise in it is recorded just below, as the agent did.
        override=True,
        via="cli",
        now=answered,
    )
    if reply.outbox_message_id:
        OutboxMessage.objects.filter(pk=reply.outbox_message_id).update(
            state=OutboxMessage.State.SENT, sent_at=answered, gate_outcome="allow", to_address=DEMO_EMAIL
        )
    promise = promise_record(
        customer=customer,
        kind="callback",
        what="Call Maren back about the double charge",
        owner=agent,
        actor=agent,
        conversation=complaint,
        due_at=opened + timedelta(days=3, hours=3),
        via="cli",
        now=answered,
    )
    promise_break_if_due(promise_id=promise.pk, now=opened + timedelta(days=3, hours=4))
    # Then she phoned about the same thing and gave her account number again (S20).
    support_services.call_log(
        actor=agent,
        customer=customer,
        notes=f"Maren called about the double charge; gave her account number {DEMO_ACCOUNT} again.",
        outcome="told her the refund is on its way",
        kind=Conversation.Kind.COMPLAINT,
        via="cli",
        now=opened + timedelta(days=4),
    )
    support_services.conversation_set_status(
        actor=agent,
        conversation=complaint,
        status="resolved",
        via="cli",
        now=opened + timedelta(days=4, hours=1),
    )
    return [
        f"Demo mirror: customer {customer.pk} (Maren Olsen) got 23 messages in 30 days against the "
        f"{CHOSEN_PER_WEEK} a week she chose, a broken call-back promise and a long complaint wait; "
        f"see /insights/customers/{customer.pk}/mirror."
    ]


def _monday_morning(moment: datetime) -> datetime:
    day = moment - timedelta(days=moment.weekday())
    return day.replace(hour=9, minute=30, second=0, microsecond=0)
