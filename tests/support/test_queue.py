"""The place in line is counted and the wait estimate is honest: from real pick-ups, or unknown (S17)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from regard.privacy.roles import Role
from regard.support import chat, queue, services
from regard.support.models import AgentPresence, ChatSite, Conversation

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(minutes=50)


@pytest.fixture
def site() -> ChatSite:
    return ChatSite.objects.create(name="Shop", key="k-queue", secret="s", allowed_origins=[])


@pytest.fixture
def agent(make_user: Callable[..., User]) -> User:
    user = make_user(Role.AGENT)
    AgentPresence.objects.create(user=user, channel_name="c1", connected_at=T0, seen_at=timezone.now())
    return user


def ask(site: ChatSite, text: str, at: datetime) -> Conversation:
    visitor = chat.Visitor(site=site, visitor_id=chat.visitor_id_new())
    return chat.chat_message_receive(visitor=visitor, text=text, now=at).conversation


def answer(conversation: Conversation, agent: User, at: datetime) -> None:
    services.reply_send(
        actor=agent, conversation=conversation, body_text="Thanks, looking now.", override=True, now=at
    )


def test_places_follow_arrival_and_move_up_when_someone_is_answered(site: ChatSite, agent: User) -> None:
    first, second, third = (ask(site, f"question {n}", T0 + timedelta(seconds=n)) for n in range(3))
    assert [p.position for p in map(queue.queue_place, (first, second, third))] == [1, 2, 3]  # type: ignore[union-attr]
    answer(second, agent, T0 + timedelta(minutes=1))
    assert queue.queue_place(second) is None
    place = queue.queue_place(third)
    assert place is not None
    assert (place.position, place.waiting) == (2, 2)


def test_asking_again_keeps_the_place_instead_of_going_to_the_back(site: ChatSite, agent: User) -> None:
    first = ask(site, "hello", T0)
    ask(site, "hi", T0 + timedelta(seconds=5))
    visitor_first = chat.Visitor(site=site, visitor_id=first.customer.identifiers.get().value_raw)
    chat.chat_message_receive(visitor=visitor_first, text="OPERATOR!!!", now=T0 + timedelta(seconds=9))
    place = queue.queue_place(first)
    assert place is not None
    assert place.position == 1
    first.refresh_from_db()
    assert (first.wants_human, first.handoff_count) == (True, 1)


def test_the_estimate_is_unknown_without_enough_recent_pick_ups(site: ChatSite, agent: User) -> None:
    for n in range(2):
        answer(ask(site, f"old {n}", T0 + timedelta(seconds=n)), agent, T0 + timedelta(minutes=4))
    waiting = ask(site, "me", T0 + timedelta(minutes=5))
    place = queue.queue_place(waiting, now=T0 + timedelta(minutes=5))
    assert place is not None
    assert place.estimate_seconds is None
    assert "Estimated wait: unknown." in place.as_dict()["text"]  # type: ignore[operator]


def test_the_estimate_is_the_median_recent_wait_less_the_time_already_waited(
    site: ChatSite, agent: User
) -> None:
    for n, minutes in enumerate((2, 4, 10)):
        answer(
            ask(site, f"q{n}", T0 + timedelta(seconds=n)), agent, T0 + timedelta(seconds=n, minutes=minutes)
        )
    arrived = T0 + timedelta(minutes=20)
    waiting = ask(site, "me", arrived)
    place = queue.queue_place(waiting, now=arrived + timedelta(minutes=1))
    assert place is not None
    assert place.estimate_seconds == 3 * 60  # median of 2, 4, 10 minutes is 4, one already waited
    assert "about 3 minutes" in queue.describe(place)
    # Waited longer than usual already: any figure would be invented.
    late = queue.queue_place(waiting, now=arrived + timedelta(minutes=6))
    assert late is not None
    assert late.estimate_seconds is None


def test_nobody_online_means_unknown_and_says_email_is_possible(site: ChatSite) -> None:
    waiting = ask(site, "anyone?", T0)
    place = queue.queue_place(waiting)
    assert place is not None
    assert (place.agents_online, place.estimate_seconds) == (0, None)
    assert "email" in queue.describe(place)


def test_a_stale_inbox_page_does_not_count_as_online(make_user: Callable[..., User]) -> None:
    user = make_user(Role.AGENT)
    AgentPresence.objects.create(user=user, channel_name="old", connected_at=T0, seen_at=T0)
    assert queue.agents_online() == 0


def test_every_automated_chat_text_says_how_to_reach_a_person() -> None:
    assert "person" in chat.automated("Thank you: we answer by email.")
    for online in (0, 1):
        for estimate in (None, 30, 600):
            text = queue.describe(queue.QueuePlace(1, 2, 3, estimate, online))
            assert "person" in text
