"""The recovery worklist picks up each bad experience once, is worked, and escalates when nobody does (S24)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from regard.consent import services as consent_services
from regard.customers.services import customer_merge, merge_undo
from regard.insights.models import RecoveryItem
from regard.insights.selectors.recovery import recovery_worklist
from regard.insights.services import (
    recovery_claim,
    recovery_close,
    recovery_escalate_if_unclaimed,
    recovery_scan,
)
from regard.outreach.models import InboundFeedback
from regard.policies.services.promises import promise_break_if_due, promise_record
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from regard.support import services as support_services
from regard.support.models import Conversation, Notification, SatisfactionSurvey, Team
from tests.customers.factories import make_customer, unique
from tests.insights.builders import delivered

pytestmark = pytest.mark.django_db
Trigger = RecoveryItem.Trigger


def _person(**profile: Any) -> Any:
    return make_customer(identifiers=[("email", f"r{unique()}@example.org")], **profile)


def _every_trigger(agent: Any) -> dict[str, Any]:
    now = timezone.now()
    people = {name: _person(preferred_name=name) for name in ("Bo", "Cy", "Di", "Ed", "Fay", "Gus", "Hal")}
    promise = promise_record(
        customer=people["Bo"],
        kind="callback",
        what="Call back",
        owner=agent,
        actor=agent,
        due_at=now + timedelta(hours=1),
    )
    promise_break_if_due(promise_id=promise.pk, now=now + timedelta(hours=2))
    late = support_services.conversation_open(
        customer=people["Cy"], channel="email", subject="Late", via="email"
    )
    Conversation.objects.filter(pk=late.pk).update(sla_breached_at=now)
    rated = support_services.conversation_open(
        customer=people["Di"], channel="chat", subject="Chat", via="chat"
    )
    SatisfactionSurvey.objects.create(
        conversation=rated, token=f"t{unique()}", score=1, comment="Awful", answered_at=now
    )
    support_services.conversation_open(
        customer=people["Ed"], channel="email", subject="Charged twice", kind="complaint", via="email"
    )
    InboundFeedback.objects.create(
        kind="complaint", status="applied", rcpt_to="fbl@x", customer=people["Fay"], raw="", received_at=now
    )
    support_services.conversation_open(
        customer=people["Gus"], channel="phone", subject="Question", via="phone"
    )
    consent_services.consent_grant(
        actor=None, customer=people["Gus"], purpose="offers", channel="email", source="form"
    )
    consent_services.consent_withdraw(
        actor=None, customer=people["Gus"], purpose="offers", channel="email", source="unsubscribe_link"
    )
    consent_services.preferences_set(
        actor=None, customer=people["Hal"], channels=["email"], max_messages_per_week=2
    )
    for hours in (1, 2, 3):
        delivered(people["Hal"], now - timedelta(hours=hours))
    return people


def test_every_kind_of_bad_experience_is_picked_up_once(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    people = _every_trigger(agent)
    first = recovery_scan()
    assert {(i.customer.preferred_name, i.trigger) for i in first} == {
        ("Bo", Trigger.PROMISE_BROKEN),
        ("Cy", Trigger.SLA_BREACH),
        ("Di", Trigger.LOW_SATISFACTION),
        ("Ed", Trigger.COMPLAINT),
        ("Fay", Trigger.SPAM_COMPLAINT),
        ("Gus", Trigger.UNSUBSCRIBED_AFTER_CONTACT),
        ("Hal", Trigger.OVER_CONTACTED),
    }
    assert recovery_scan() == []  # a second look adds nothing
    assert RecoveryItem.objects.count() == 7
    reasons = dict(RecoveryItem.objects.values_list("customer_id", "reason"))
    assert reasons[people["Di"].pk] == "Rated their support 1 of 5: “Awful”"
    assert reasons[people["Hal"].pk] == "Got 3 marketing messages in 7 days; they chose at most 2 a week"


def test_the_worst_and_most_recent_come_first_and_a_closed_item_leaves_the_list(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    _every_trigger(agent)
    recovery_scan()
    rows = recovery_worklist(actor=agent)
    assert [r.item.severity for r in rows] == sorted((r.item.severity for r in rows), reverse=True)
    top = rows[0].item
    recovery_claim(actor=agent, item=top)
    closed = recovery_close(actor=agent, item=top, action="call", note="Called, apologised, credit sent")
    assert closed.state == "closed"
    assert top.pk not in {r.item.pk for r in recovery_worklist(actor=agent)}
    assert top.pk in {r.item.pk for r in recovery_worklist(actor=agent, state="closed")}
    assert closed.customer.timeline.filter(kind="recovery.closed").exists()
    assert AuditEntry.objects.filter(object_type="recovery", action="read").exists()


def test_an_item_nobody_takes_up_in_a_working_day_goes_to_the_team_lead(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    lead = make_user(Role.AGENT)
    Team.objects.create(name="Care", slug="care-r", lead=lead)
    friday_evening = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # one working hour left that day
    customer = _person(preferred_name="Ivy")
    support_services.conversation_open(
        customer=customer,
        channel="email",
        subject="Broken",
        kind="complaint",
        via="email",
        now=friday_evening,
    )
    (item,) = recovery_scan(since=friday_evening - timedelta(hours=1), now=friday_evening)
    # Default calendar: Mon–Fri 09:00–17:00 (settings time zone): one working day later is Monday 16:00.
    assert item.claim_due_at.astimezone(timezone.get_current_timezone()).weekday() == 0
    assert (
        recovery_escalate_if_unclaimed(item_id=item.pk, now=item.claim_due_at - timedelta(minutes=1))
        == "not due yet"
    )
    assert recovery_escalate_if_unclaimed(item_id=item.pk, now=item.claim_due_at) == "escalated"
    assert recovery_escalate_if_unclaimed(item_id=item.pk, now=item.claim_due_at) == "nothing to do"
    notes = Notification.objects.filter(kind=Notification.Kind.RECOVERY_UNCLAIMED)
    assert list(notes.values_list("user", flat=True)) == [lead.pk]
    assert "Ivy" in notes.get().text
    claimed = _person(preferred_name="Jo")
    support_services.conversation_open(
        customer=claimed, channel="email", subject="x", kind="complaint", via="email", now=friday_evening
    )
    (other,) = recovery_scan(since=friday_evening - timedelta(hours=1), now=friday_evening)
    recovery_claim(actor=agent, item=other)
    assert recovery_escalate_if_unclaimed(item_id=other.pk, now=other.claim_due_at) == "nothing to do"


def test_merge_and_undo_move_recovery_items(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    absorbed = _person()
    survivor = _person()
    support_services.conversation_open(
        customer=absorbed, channel="email", subject="x", kind="complaint", via="email"
    )
    (item,) = recovery_scan()
    merge = customer_merge(survivor=survivor, absorbed=absorbed, actor=agent)
    item.refresh_from_db()
    assert item.customer_id == survivor.pk
    merge_undo(merge=merge, actor=agent)
    item.refresh_from_db()
    assert item.customer_id == absorbed.pk


def test_the_api_and_page_under_the_role_matrix_and_bad_input(
    api_for: Any, anonymous_api: Any, make_user: Any
) -> None:
    customer = _person(preferred_name="Kim")
    support_services.conversation_open(
        customer=customer, channel="email", subject="x", kind="complaint", via="email"
    )
    (item,) = recovery_scan()
    assert anonymous_api.get("recovery").status_code == 401
    for role in (Role.ANALYST, Role.MARKETER, Role.PARTNER):
        assert api_for(role).get("recovery").status_code == 403
        assert api_for(role).post(f"recovery/{item.pk}/claim").status_code == 403
    manager = api_for(Role.MANAGER)
    listed = manager.get("recovery")
    assert listed.status_code == 200
    assert listed.json()[0]["customer"] == "Kim"
    assert listed.json()[0]["mirror_url"] == f"/insights/customers/{customer.pk}/mirror"
    assert manager.get("recovery", state="gone").json()["field"] == "state"
    assert manager.post(f"recovery/{item.pk}/close", {"action": "dance"}).json()["field"] == "action"
    assert RecoveryItem.objects.get().state == "open"
    assert manager.post("recovery/999999/claim").status_code == 404
    assert manager.post(f"recovery/{item.pk}/claim").status_code == 200
    assert manager.post(f"recovery/{item.pk}/claim").status_code == 409
    assert manager.post(f"recovery/{item.pk}/close", {"action": "apology"}).json()["state"] == "closed"
    web = Client()
    assert web.get("/insights/recovery/").status_code == 302
    web.force_login(make_user(Role.ANALYST))
    assert web.get("/insights/recovery/").status_code == 403
    web.force_login(make_user(Role.AGENT))
    page = web.get("/insights/recovery/?state=closed")
    assert page.status_code == 200
    assert "Kim" in page.content.decode()


def test_the_scan_comes_back_on_its_own_with_one_chain_at_a_time() -> None:
    from django_tasks_db.models import DBTaskResult

    from regard.insights.services.recovery import recovery_kick_off, recovery_scan_task

    path = recovery_scan_task.module_path
    recovery_kick_off()
    recovery_kick_off()
    assert DBTaskResult.objects.filter(task_path=path, status="READY").count() == 1
    DBTaskResult.objects.filter(task_path=path).delete()
    customer = _person()
    support_services.conversation_open(
        customer=customer, channel="email", subject="x", kind="complaint", via="email"
    )
    assert recovery_scan_task.call() == 1
    assert recovery_scan_task.call() == 0
    assert DBTaskResult.objects.filter(task_path=path, status="READY").count() == 1
