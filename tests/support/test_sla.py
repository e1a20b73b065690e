"""SLAs on working time with an injected clock: a complaint before a holiday weekend (S14), warnings,
escalation, timers that go stale, and policies from specific to default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from regard.customers.models import TimelineEvent
from regard.privacy.roles import Role
from regard.support import services
from regard.support.hooks import registered
from regard.support.models import Conversation, Notification, SlaAlert, SlaPolicy, Team
from regard.support.sla import on_conversation_event, policy_for, sla_recompute, sla_timer_fire
from tests.customers.factories import make_customer

BERLIN = ZoneInfo("Europe/Berlin")
# Friday 22 May 2026, 16:00 in Berlin; Monday 25 May is Whit Monday (Pfingstmontag).
FRIDAY_4PM = datetime(2026, 5, 22, 16, 0, tzinfo=BERLIN)
TUESDAY_4PM = datetime(2026, 5, 26, 16, 0, tzinfo=BERLIN)


@pytest.fixture
def lead(make_user) -> User:
    return make_user(Role.AGENT, username="lead")


@pytest.fixture
def agent(make_user) -> User:
    return make_user(Role.AGENT, username="agent")


@pytest.fixture
def team(db: None, lead: User) -> Team:
    return Team.objects.create(
        name="Care Berlin", slug="care-berlin", time_zone="Europe/Berlin", country="DE", lead=lead
    )


def open_complaint(team: Team, agent: User | None = None, *, at: datetime = FRIDAY_4PM) -> Conversation:
    customer = make_customer(identifiers=[("email", f"c{at.timestamp()}@example.com")])
    conversation = services.conversation_open(
        customer=customer,
        channel="email",
        kind="complaint",
        subject="Earphones silent",
        team=team,
        via="test",
        now=at,
    )
    if agent is not None:
        Conversation.objects.filter(pk=conversation.pk).update(assignee=agent)
    recomputed = sla_recompute(conversation_id=conversation.pk, now=at)
    assert recomputed is not None
    return recomputed


def timers(conversation: Conversation) -> list[tuple[str, str, datetime]]:
    rows = DBTaskResult.objects.filter(task_path="regard.support.sla.sla_timer").order_by("run_after", "id")
    return [
        (row.args_kwargs["args"][1], row.args_kwargs["args"][2], row.run_after)
        for row in rows
        if row.args_kwargs["args"][0] == conversation.pk
    ]


def test_the_sla_recomputation_is_registered_for_conversation_events() -> None:
    assert on_conversation_event in registered()


def test_complaint_on_friday_before_whit_monday_is_due_on_tuesday(team: Team) -> None:
    conversation = open_complaint(team)
    # S14: one working day; Friday 16–17, the weekend and Whit Monday do not count.
    assert conversation.first_response_due_at == TUESDAY_4PM
    assert conversation.sla_policy is not None
    assert conversation.sla_policy.kind == "complaint"
    assert conversation.next_response_due_at is None
    # Resolution: five working days from the opening (Friday, Tuesday … Friday, then Monday 16:00).
    assert conversation.resolution_due_at == datetime(2026, 6, 1, 16, 0, tzinfo=BERLIN)
    # Timers at the exact moments: warning at 80% (384 working minutes: Tuesday 14:24), breach at the due time.
    scheduled = timers(conversation)
    assert ("first_response", "warning", datetime(2026, 5, 26, 14, 24, tzinfo=BERLIN)) in scheduled
    assert ("first_response", "breach", TUESDAY_4PM) in scheduled
    assert ("resolution", "breach", datetime(2026, 6, 1, 16, 0, tzinfo=BERLIN)) in scheduled


def test_the_same_complaint_without_public_holidays_is_due_on_monday(team: Team) -> None:
    team.country = ""
    team.save()
    assert open_complaint(team).first_response_due_at == datetime(2026, 5, 25, 16, 0, tzinfo=BERLIN)


def test_recomputing_without_a_change_schedules_nothing_new(team: Team) -> None:
    conversation = open_complaint(team)
    before = DBTaskResult.objects.count()
    sla_recompute(conversation_id=conversation.pk, now=FRIDAY_4PM + timedelta(minutes=5))
    assert DBTaskResult.objects.count() == before


def test_warning_reaches_the_assignee_and_the_team_lead(team: Team, agent: User, lead: User) -> None:
    conversation = open_complaint(team, agent)
    warn_at = datetime(2026, 5, 26, 14, 24, tzinfo=BERLIN)
    due = conversation.first_response_due_at
    assert due is not None
    # A timer that fires early (a clock ahead of ours) does nothing.
    assert sla_timer_fire(conversation_id=conversation.pk, target="first_response", stage="warning", due_at=due, now=warn_at - timedelta(minutes=1)) == "early"  # fmt: skip
    assert sla_timer_fire(conversation_id=conversation.pk, target="first_response", stage="warning", due_at=due, now=warn_at) == "warned"  # fmt: skip
    notes = Notification.objects.filter(conversation=conversation, kind="sla_warning")
    assert sorted(n.user.username for n in notes) == ["agent", "lead"]
    assert "first response due Tue 26 May 16:00 (Europe/Berlin)" in notes[0].text
    conversation.refresh_from_db()
    assert conversation.sla_warned_at == warn_at
    assert conversation.priority == "normal"
    # The same timer running twice warns once.
    assert sla_timer_fire(conversation_id=conversation.pk, target="first_response", stage="warning", due_at=due, now=warn_at) == "already"  # fmt: skip
    assert notes.count() == 2


def test_breach_escalates_priority_notifies_the_lead_and_lands_on_the_timeline(
    team: Team, lead: User
) -> None:
    conversation = open_complaint(team)
    due = conversation.first_response_due_at
    assert due is not None
    outcome = sla_timer_fire(
        conversation_id=conversation.pk, target="first_response", stage="breach", due_at=due, now=TUESDAY_4PM
    )
    assert outcome == "escalated"
    conversation.refresh_from_db()
    assert conversation.priority == "high"
    assert conversation.sla_breached_at == TUESDAY_4PM
    breach = Notification.objects.get(conversation=conversation, kind="sla_breach")
    assert breach.user == lead
    assert "first response missed" in breach.text
    assert "normal → high" in breach.text
    event = TimelineEvent.objects.get(customer=conversation.customer, kind="conversation.sla_breached")
    assert event.data["target"] == "first_response"
    assert SlaAlert.objects.filter(conversation=conversation, stage="breach").count() == 1
    assert sla_timer_fire(conversation_id=conversation.pk, target="first_response", stage="breach", due_at=due, now=TUESDAY_4PM) in {"already", "stale"}  # fmt: skip
    assert Notification.objects.filter(kind="sla_breach").count() == 1


def test_a_timer_whose_target_was_met_or_whose_due_time_moved_does_nothing(team: Team, agent: User) -> None:
    conversation = open_complaint(team, agent)
    due = conversation.first_response_due_at
    assert due is not None
    # An answer on Tuesday morning meets the first-response target.
    Conversation.objects.filter(pk=conversation.pk).update(first_response_at=TUESDAY_4PM - timedelta(hours=5))
    assert sla_timer_fire(conversation_id=conversation.pk, target="first_response", stage="breach", due_at=due, now=TUESDAY_4PM) == "met"  # fmt: skip
    # The resolution target moves when the priority changes; the old timer is stale.
    old_resolution = conversation.resolution_due_at
    assert old_resolution is not None
    Conversation.objects.filter(pk=conversation.pk).update(priority="urgent", kind="question")
    sla_recompute(conversation_id=conversation.pk, now=TUESDAY_4PM)
    conversation.refresh_from_db()
    assert conversation.resolution_due_at != old_resolution
    assert sla_timer_fire(conversation_id=conversation.pk, target="resolution", stage="breach", due_at=old_resolution, now=old_resolution) == "stale"  # fmt: skip
    assert not Notification.objects.exists()
    assert not SlaAlert.objects.exists()


def test_next_response_counts_from_each_customer_message_still_waiting(team: Team) -> None:
    conversation = open_complaint(team)
    # Answered on Tuesday 10:00; the customer writes back at 16:30 on Tuesday.
    Conversation.objects.filter(pk=conversation.pk).update(
        first_response_at=datetime(2026, 5, 26, 10, 0, tzinfo=BERLIN), awaiting_reply_since=None
    )
    written = datetime(2026, 5, 26, 16, 30, tzinfo=BERLIN)
    services.message_receive(conversation=conversation, body_text="Still silent.", now=written)
    conversation = sla_recompute(conversation_id=conversation.pk, now=written)
    assert conversation is not None
    # 480 working minutes from Tuesday 16:30: half an hour on Tuesday, then Wednesday until 16:30.
    assert conversation.next_response_due_at == datetime(2026, 5, 27, 16, 30, tzinfo=BERLIN)
    assert ("next_response", "breach", datetime(2026, 5, 27, 16, 30, tzinfo=BERLIN)) in timers(conversation)
    # Answered: nothing waits, the next-response due time goes away and its timer is stale.
    Conversation.objects.filter(pk=conversation.pk).update(awaiting_reply_since=None)
    conversation = sla_recompute(conversation_id=conversation.pk, now=written)
    assert conversation is not None
    assert conversation.next_response_due_at is None
    assert sla_timer_fire(conversation_id=conversation.pk, target="next_response", stage="breach", due_at=datetime(2026, 5, 27, 16, 30, tzinfo=BERLIN), now=datetime(2026, 5, 28, tzinfo=UTC)) == "stale"  # fmt: skip


def test_a_reopened_conversation_gets_a_fresh_resolution_target(team: Team) -> None:
    conversation = open_complaint(team)
    resolved_at = datetime(2026, 5, 27, 12, 0, tzinfo=BERLIN)
    services.conversation_set_status(
        actor=None, conversation=conversation, status="resolved", now=resolved_at
    )
    first_due = conversation.resolution_due_at
    conversation = sla_recompute(conversation_id=conversation.pk, now=resolved_at)
    assert conversation is not None
    assert conversation.resolution_due_at == first_due  # met: kept as the target it was measured against
    reopened = datetime(2026, 6, 10, 9, 0, tzinfo=BERLIN)
    services.message_receive(conversation=conversation, body_text="It broke again.", now=reopened)
    conversation = sla_recompute(conversation_id=conversation.pk, now=reopened)
    assert conversation is not None
    assert conversation.resolution_started_at == reopened
    assert conversation.resolution_due_at == datetime(
        2026, 6, 16, 17, 0, tzinfo=BERLIN
    )  # 5 × 8 h from Wed 09:00


def test_policy_lookup_prefers_the_team_then_the_more_specific_then_priority(team: Team) -> None:
    complaint_default = policy_for(team_id=team.pk, kind="complaint", priority="normal")
    assert complaint_default is not None
    assert complaint_default.team_id is None
    assert complaint_default.first_response_minutes == 480
    # An urgent complaint: "urgent" and "complaint" each name one thing; the priority wins.
    urgent = policy_for(team_id=team.pk, kind="complaint", priority="urgent")
    assert urgent is not None
    assert urgent.priority == "urgent"
    mine = SlaPolicy.objects.create(team=team, kind="", priority="", first_response_minutes=120)
    assert policy_for(team_id=team.pk, kind="question", priority="normal") == mine
    both = SlaPolicy.objects.create(team=team, kind="complaint", priority="high", first_response_minutes=30)
    assert policy_for(team_id=team.pk, kind="complaint", priority="high") == both
    # Another team's policy never applies.
    high_complaint = policy_for(team_id=None, kind="complaint", priority="high")
    assert high_complaint is not None
    assert high_complaint.team_id is None
    assert high_complaint.priority == "high"


def test_a_conversation_event_recomputes_after_commit(team: Team, django_capture_on_commit_callbacks) -> None:
    customer = make_customer(identifiers=[("email", "hook@example.com")])
    with django_capture_on_commit_callbacks(execute=True):
        conversation = services.conversation_open(
            customer=customer, channel="email", kind="complaint", team=team, via="test", now=FRIDAY_4PM
        )
    conversation.refresh_from_db()
    assert conversation.first_response_due_at == TUESDAY_4PM


@pytest.mark.django_db(transaction=True)  # the worker opens its own connections
def test_the_worker_runs_a_due_timer_and_escalates(team: Team, lead: User) -> None:
    # A transactional test starts from an empty database, without the default policies.
    SlaPolicy.objects.create(team=team, kind="complaint", first_response_minutes=480)
    conversation = open_complaint(team)  # May 2026: every timer is due by now, so one worker pass runs them
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    conversation.refresh_from_db()
    assert conversation.sla_breached_at is not None
    assert conversation.priority in {"high", "urgent"}
    assert Notification.objects.filter(user=lead, kind="sla_breach").exists()
    assert (
        SlaAlert.objects.filter(conversation=conversation, target="first_response", stage="breach").count()
        == 1
    )


def test_replies_and_customer_messages_move_the_due_times_through_the_hooks(
    team: Team, agent: User, django_capture_on_commit_callbacks: Any
) -> None:
    customer = make_customer(identifiers=[("email", "flow@example.com")])
    with django_capture_on_commit_callbacks(execute=True):
        conversation = services.conversation_open(
            customer=customer, channel="email", kind="complaint", team=team, via="test", now=FRIDAY_4PM
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.message_receive(conversation=conversation, body_text="Silent.", now=FRIDAY_4PM)
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_send(
            actor=agent, conversation=conversation, body_text="Hello,\n\nA new pair is on its way.", override=True,
            now=datetime(2026, 5, 26, 10, 0, tzinfo=BERLIN),
        )  # fmt: skip
    conversation.refresh_from_db()
    assert conversation.first_response_due_at == TUESDAY_4PM  # kept: the target it was measured against
    assert conversation.next_response_due_at is None
    with django_capture_on_commit_callbacks(execute=True):
        services.message_receive(
            conversation=conversation,
            body_text="Thanks, when?",
            now=datetime(2026, 5, 26, 11, 0, tzinfo=BERLIN),
        )
    conversation.refresh_from_db()
    assert conversation.next_response_due_at == datetime(2026, 5, 27, 11, 0, tzinfo=BERLIN)
    # The first-response timer, firing at its due time, finds the target met and does nothing.
    assert sla_timer_fire(conversation_id=conversation.pk, target="first_response", stage="breach", due_at=TUESDAY_4PM, now=TUESDAY_4PM) == "met"  # fmt: skip


@pytest.mark.parametrize(
    ("present", "told"),
    [((Role.MANAGER, Role.ADMIN), {"manager"}), ((Role.ADMIN,), {"admin"})],
)
def test_a_breach_nobody_owns_reaches_the_managers_or_else_the_admins(
    make_user: Any, present: tuple[Role, ...], told: set[str]
) -> None:
    for role in present:
        make_user(role, username=role.value)
    make_user(Role.AGENT, username="someone")
    leaderless = Team.objects.create(name="Care", slug="care", time_zone="Europe/Berlin", country="DE")
    conversation = open_complaint(leaderless)
    due = conversation.first_response_due_at
    assert due is not None
    outcome = sla_timer_fire(
        conversation_id=conversation.pk, target="first_response", stage="breach", due_at=due, now=TUESDAY_4PM
    )
    assert outcome == "escalated"
    notes = Notification.objects.filter(conversation=conversation, kind="sla_breach")
    assert {n.user.username for n in notes} == told
