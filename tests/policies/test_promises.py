"""Promises (C5, S22): recorded, kept, withdrawn with a message, broken at the due moment, read once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django_tasks_db.models import DBTaskResult

from regard.customers import services as customer_services
from regard.customers.models import TimelineEvent
from regard.errors import Conflict, InvalidInput, PermissionDenied
from regard.policies import selectors, services
from regard.policies.models import Promise
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from regard.support import services as support_services
from regard.support.models import Conversation, Message, Notification, Team
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db

# Thursday 3 Dec 2026, 10:00 in Berlin.
THURSDAY = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def lead(make_user: Any) -> User:
    return make_user(Role.AGENT, username="lead")


@pytest.fixture
def agent(make_user: Any) -> User:
    return make_user(Role.AGENT, username="owner-agent")


@pytest.fixture
def team(lead: User, agent: User) -> Team:
    team = Team.objects.create(name="Care", slug="care", time_zone="Europe/Berlin", country="DE", lead=lead)
    team.members.add(agent)
    return team


@pytest.fixture
def conversation(team: Team) -> Conversation:
    customer = make_customer(identifiers=[("email", "mika@example.org")])
    return support_services.conversation_open(
        customer=customer,
        channel="email",
        kind="complaint",
        team=team,
        subject="No sound",
        via="test",
        now=THURSDAY,
    )


def record(conversation: Conversation, owner: User, **kw: Any) -> Promise:
    kw.setdefault("kind", "callback")
    kw.setdefault("what", "Call back about the earphones")
    if "due_working_days" not in kw:
        kw.setdefault("due_at", THURSDAY + timedelta(days=1))
    return services.promise_record(
        customer=conversation.customer,
        conversation=conversation,
        owner=owner,
        actor=owner,
        now=THURSDAY,
        **kw,
    )


def test_recording_schedules_the_due_task_at_the_exact_moment(
    conversation: Conversation, agent: User
) -> None:
    promise = record(conversation, agent)
    (task,) = DBTaskResult.objects.all()
    assert task.run_after == promise.due_at
    assert TimelineEvent.objects.filter(kind="promise.made").count() == 1


def test_a_promise_left_open_is_broken_at_its_due_moment_and_reaches_the_recovery_selector_once(
    conversation: Conversation, agent: User, lead: User
) -> None:
    promise = record(conversation, agent)
    assert services.promise_break_if_due(
        promise_id=promise.pk, now=promise.due_at - timedelta(seconds=1)
    ) == ("not due yet")
    assert services.promise_break_if_due(promise_id=promise.pk, now=promise.due_at) == "broken"
    assert services.promise_break_if_due(promise_id=promise.pk, now=promise.due_at + timedelta(hours=1)) == (
        "already broken"
    )
    promise.refresh_from_db()
    assert promise.state == "broken"
    assert promise.settled_at == promise.due_at
    broken = selectors.promises_broken_since(since=THURSDAY)
    assert [(b.promise_id, b.customer_id, b.broken_at) for b in broken] == [
        (promise.pk, conversation.customer_id, promise.due_at)
    ]
    # The next window does not see it again.
    assert selectors.promises_broken_since(since=promise.due_at + timedelta(seconds=1)) == []
    assert set(
        Notification.objects.filter(kind="promise_broken").values_list("user__username", flat=True)
    ) == {
        "owner-agent",
        "lead",
    }
    assert TimelineEvent.objects.filter(kind="promise.broken").count() == 1
    assert AuditEntry.objects.filter(object_type="promise", detail__state="broken").count() == 1


@pytest.mark.django_db(transaction=True)  # the worker opens its own connections
def test_the_worker_breaks_a_due_promise_once(make_user: Any) -> None:
    from django.core.management import call_command

    agent = make_user(Role.AGENT)
    customer = make_customer()
    now = datetime.now(UTC)
    promise = services.promise_record(
        customer=customer, kind="shipment", what="Replacement ships", owner=agent, actor=agent,
        due_at=now + timedelta(seconds=1), now=now,
    )  # fmt: skip
    import time

    time.sleep(1.2)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    promise.refresh_from_db()
    assert promise.state == "broken"
    assert len(selectors.promises_broken_since(since=now)) == 1
    assert Notification.objects.filter(kind="promise_broken").count() == 1


def test_kept_by_the_owner_and_then_no_other_transition(conversation: Conversation, agent: User) -> None:
    promise = record(conversation, agent)
    services.promise_keep(
        promise=promise, actor=agent, note="Called at 11", now=THURSDAY + timedelta(hours=2)
    )
    promise.refresh_from_db()
    assert promise.state == "kept"
    assert promise.settled_by == agent
    with pytest.raises(Conflict) as error:
        services.promise_keep(promise=promise, actor=agent, now=THURSDAY + timedelta(hours=3))
    assert error.value.http_status == 409
    assert "already kept" in error.value.message
    with pytest.raises(Conflict):
        services.promise_withdraw(promise=promise, actor=agent, message_text="Sorry", now=THURSDAY)
    assert services.promise_break_if_due(promise_id=promise.pk, now=promise.due_at) == "already kept"
    assert TimelineEvent.objects.filter(kind="promise.kept").count() == 1


def test_only_the_owner_or_a_manager_settles(conversation: Conversation, agent: User, make_user: Any) -> None:
    promise = record(conversation, agent)
    with pytest.raises(PermissionDenied):
        services.promise_keep(promise=promise, actor=make_user(Role.AGENT), now=THURSDAY)
    services.promise_keep(promise=promise, actor=make_user(Role.MANAGER), now=THURSDAY)
    assert Promise.objects.get().state == "kept"


def test_keeping_after_the_due_time_is_refused(conversation: Conversation, agent: User) -> None:
    promise = record(conversation, agent)
    with pytest.raises(Conflict) as error:
        services.promise_keep(promise=promise, actor=agent, now=promise.due_at + timedelta(minutes=1))
    assert error.value.field == "due_at"


def test_a_callback_is_kept_when_a_call_is_logged_before_the_due_time(
    conversation: Conversation, agent: User, django_capture_on_commit_callbacks: Any
) -> None:
    promise = record(conversation, agent)
    with django_capture_on_commit_callbacks(execute=True):
        support_services.call_log(
            actor=agent, customer=conversation.customer, notes="Talked it through", direction="out",
            now=THURSDAY + timedelta(hours=3),
        )  # fmt: skip
    promise.refresh_from_db()
    assert promise.state == "kept"
    assert "Callback logged" in promise.settlement_note


def test_the_due_moment_finds_a_call_the_hook_missed(conversation: Conversation, agent: User) -> None:
    promise = record(conversation, agent)
    support_services.call_log(
        actor=agent,
        customer=conversation.customer,
        notes="Called",
        direction="out",
        now=THURSDAY + timedelta(hours=3),
    )  # on_commit hooks do not run in this test: only the due-moment check sees the call
    assert services.promise_break_if_due(promise_id=promise.pk, now=promise.due_at) == "kept"
    assert selectors.promises_broken_since(since=THURSDAY) == []


def test_withdrawn_only_with_the_message_to_the_customer(conversation: Conversation, agent: User) -> None:
    promise = record(conversation, agent, kind="shipment", what="Replacement ships Friday")
    with pytest.raises(InvalidInput) as error:
        services.promise_withdraw(promise=promise, actor=agent, message_text="  ", now=THURSDAY)
    assert error.value.field == "message"
    assert Promise.objects.get().state == "open"
    assert not Message.objects.filter(direction="out").exists()
    text = "Hi,\n\nI am sorry: the replacement cannot ship this week after all, the model is out of stock."
    services.promise_withdraw(promise=promise, actor=agent, message_text=text, override=True, now=THURSDAY)
    promise.refresh_from_db()
    message = Message.objects.get(direction="out")
    assert promise.state == "withdrawn"
    assert promise.settlement_message == message
    assert message.outbox_message is not None  # through the outbox, so the gate sees it
    assert TimelineEvent.objects.filter(kind="promise.withdrawn").count() == 1


def test_within_working_days_skips_a_weekend_and_a_holiday(conversation: Conversation, agent: User) -> None:
    # Wednesday 23 Dec 2026: 3 working days in Germany skip the 25th/26th (holidays) and the weekend.
    wednesday = datetime(2026, 12, 23, 9, 0, tzinfo=UTC)
    promise = services.promise_record(
        customer=conversation.customer, conversation=conversation, kind="shipment", what="Ships",
        owner=agent, actor=agent, due_working_days=3, now=wednesday,
    )  # fmt: skip
    # Thu 24 (working), Fri 25 and Sat 26 holidays, Sun 27, then Mon 28 and Tue 29: the third is Tue 29.
    assert promise.due_at.date().isoformat() == "2026-12-29"
    # Friday afternoon, 2 working days: Monday, Tuesday.
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    again = services.promise_record(
        customer=conversation.customer, conversation=conversation, kind="callback", what="Call",
        owner=agent, actor=agent, due_working_days=2, now=friday,
    )  # fmt: skip
    assert again.due_at.date().isoformat() == "2026-12-08"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"due_at": THURSDAY - timedelta(hours=1)}, "due_at"),
        ({"kind": "bribe"}, "kind"),
        ({"what": " "}, "what"),
        ({"due_working_days": 0, "due_at": None}, "due_working_days"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    conversation: Conversation, agent: User, change: dict[str, Any], field: str
) -> None:
    kw: dict[str, Any] = {
        "kind": "callback",
        "what": "Call",
        "due_at": THURSDAY + timedelta(days=1),
        **change,
    }
    if kw.get("due_at") is None:
        kw.pop("due_at")
    with pytest.raises(InvalidInput) as error:
        services.promise_record(
            customer=conversation.customer,
            conversation=conversation,
            owner=agent,
            actor=agent,
            now=THURSDAY,
            **kw,
        )
    assert error.value.field == field
    assert not Promise.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_a_conversation_of_another_customer_is_refused(conversation: Conversation, agent: User) -> None:
    other = make_customer()
    with pytest.raises(InvalidInput) as error:
        services.promise_record(
            customer=other, conversation=conversation, kind="callback", what="Call", owner=agent, actor=agent,
            due_at=THURSDAY + timedelta(days=1), now=THURSDAY,
        )  # fmt: skip
    assert error.value.field == "conversation"
    assert not Promise.objects.exists()


def test_merge_and_undo_move_promises(conversation: Conversation, agent: User) -> None:
    promise = record(conversation, agent)
    survivor = make_customer()
    merge = customer_services.customer_merge(survivor=survivor, absorbed=conversation.customer, actor=agent)
    assert Promise.objects.get(pk=promise.pk).customer_id == survivor.pk
    customer_services.merge_undo(merge=merge, actor=agent)
    assert Promise.objects.get(pk=promise.pk).customer_id == conversation.customer_id


def test_agents_see_their_own_and_their_teams_promises_managers_all(
    conversation: Conversation, agent: User, lead: User, make_user: Any
) -> None:
    mine = record(conversation, agent)
    outsider = make_user(Role.AGENT)
    other = services.promise_record(
        customer=conversation.customer, kind="callback", what="Other", owner=outsider, actor=outsider,
        due_at=THURSDAY + timedelta(days=2), now=THURSDAY,
    )  # fmt: skip
    assert [p.pk for p in selectors.promise_list(actor=agent)] == [mine.pk]
    assert [p.pk for p in selectors.promise_list(actor=lead)] == [mine.pk]  # the team lead
    assert [p.pk for p in selectors.promise_list(actor=outsider)] == [other.pk]
    manager = make_user(Role.MANAGER)
    assert {p.pk for p in selectors.promise_list(actor=manager)} == {mine.pk, other.pk}
    assert AuditEntry.objects.filter(action="read", object_type="promise").exists()
    with pytest.raises(PermissionDenied):
        selectors.promise_list(actor=make_user(Role.ANALYST))


@pytest.mark.parametrize("how_many", [1, 6])
def test_the_promises_panel_is_one_query_however_many_promises(
    conversation: Conversation, agent: User, how_many: int, django_assert_num_queries: Any
) -> None:
    from regard.policies.promise_panels import promises_sidebar_panel

    for n in range(how_many):
        record(conversation, agent, what=f"Call {n}", due_at=THURSDAY + timedelta(days=1, hours=n))
    agent = User.objects.get(pk=agent.pk)  # roles not cached yet: the check is part of the count
    with django_assert_num_queries(2):  # the role check, then the open promises with owner and conversation
        panel = promises_sidebar_panel(agent, conversation, [conversation.customer_id])
        assert panel is not None
        assert [p.owner.username for p in panel.context["promises"]] == ["owner-agent"] * how_many
