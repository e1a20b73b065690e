"""Demo promises for the seed-001 story (S22): one open, due tomorrow; one broken in the past.

For Mika Laine (mika.laine@example.org), whose "No sound from my earphones" email another demo
creates; when she is missing this makes a minimal version of her and the conversation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from regard.customers.selectors import customer_resolve
from regard.customers.services import IdentifierInput, customer_create, timeline_append
from regard.policies.models import Promise
from regard.policies.services import promise_break_if_due, promise_record
from regard.privacy.roles import Role
from regard.privacy.services import user_create
from regard.support import services as support_services
from regard.support.models import Conversation, Team

EMAIL = "mika.laine@example.org"
SUBJECT = "No sound from my earphones"
OPEN_WHAT = "Call Mika back about the silent earphones"
BROKEN_WHAT = "Replacement ear tips ship within 3 working days"


def _owner() -> User:
    agent = User.objects.filter(groups__name=Role.AGENT.value, is_active=True).order_by("id").first()
    if agent is None:
        agent = User.objects.filter(groups__name=Role.ADMIN.value, is_active=True).order_by("id").first()
    return agent or user_create(username="demo-agent", password=None, roles=[Role.AGENT])


def _conversation(now: datetime) -> Conversation:
    customer = customer_resolve(kind="email", value=EMAIL)
    if customer is None:
        customer = customer_create(
            actor=None,
            identifiers=[IdentifierInput("email", EMAIL)],
            given_name="Mika",
            family_name="Laine",
            preferred_name="Mika",
        )
    conversation = (
        Conversation.objects.filter(customer=customer, channel=Conversation.Channel.EMAIL)
        .order_by("id")
        .first()
    )
    if conversation is None:
        conversation = support_services.conversation_open(
            customer=customer,
            channel=Conversation.Channel.EMAIL,
            kind="complaint",
            subject=SUBJECT,
            team=Team.objects.filter(slug="care").first(),
            via="demo",
            now=now - timedelta(days=1),
        )
        support_services.message_receive(
            conversation=conversation,
            body_text="Hello, since yesterday there is no sound from the left earphone.",
            sender_address=EMAIL,
            now=now - timedelta(days=1),
        )
    return conversation


def _past_promise(conversation: Conversation, owner: User, now: datetime) -> Promise:
    """Demo-only: a promise made three weeks ago. ``promise_record`` refuses due times in the
    past, so the row and its "made" timeline entry are written here with past timestamps; the
    real service then breaks it at a moment after its due time."""
    made = now - timedelta(days=21)
    due = made + timedelta(days=5)
    promise = Promise.objects.create(
        customer=conversation.customer,
        conversation=conversation,
        kind=Promise.Kind.SHIPMENT,
        what=BROKEN_WHAT,
        owner=owner,
        team=conversation.team,
        due_at=due,
        due_working_days=3,
        source="demo",
        created_by=owner,
        created_at=made,
    )
    timeline_append(
        customer=conversation.customer,
        kind="promise.made",
        channel=conversation.channel,
        summary=f"Promised: {BROKEN_WHAT} (due {timezone.localtime(due):%d %b %Y %H:%M})",
        occurred_at=made,
        subject=promise,
        data={"kind": promise.kind, "due_at": due.isoformat(), "owner": owner.username},
    )
    promise_break_if_due(promise_id=promise.pk, now=due + timedelta(minutes=1))
    return promise


@transaction.atomic
def promises_demo_ensure(*, now: datetime | None = None) -> list[str]:
    """Mika's open callback due tomorrow and her broken shipment promise; nothing when they exist."""
    now = now or timezone.now()
    conversation = _conversation(now)
    owner = _owner()
    lines: list[str] = []
    promises = Promise.objects.filter(customer=conversation.customer)
    if not promises.filter(what=OPEN_WHAT).exists():
        promise_record(
            customer=conversation.customer,
            conversation=conversation,
            kind=Promise.Kind.CALLBACK,
            what=OPEN_WHAT,
            owner=owner,
            actor=owner,
            due_at=now + timedelta(days=1),
            source="demo",
            via="demo",
            now=now,
        )
        lines.append(f"Promise: callback to {EMAIL} due tomorrow (open)")
    if not promises.filter(what=BROKEN_WHAT).exists():
        _past_promise(conversation, owner, now)
        lines.append(f"Promise: shipment to {EMAIL} three weeks ago (broken)")
    return lines
