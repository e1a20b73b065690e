"""The customer mirror (C6, S23): hand-counted figures, the verdict from the data, merges, access."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from regard.consent import services as consent_services
from regard.customers.services import customer_merge, merge_undo
from regard.errors import InvalidInput, PermissionDenied
from regard.insights.selectors import MAX_DAYS, customer_mirror
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from regard.support import services as support_services
from tests.customers.factories import make_customer
from tests.insights.builders import NOW, SINCE, Story, at, delivered, story

pytestmark = pytest.mark.django_db
MIRROR_QUERIES = 18


@pytest.fixture
def agent(make_user: Callable[..., User]) -> User:
    return make_user(Role.AGENT)


@pytest.fixture
def told(agent: User) -> Story:
    return story(agent)


def _mirror(agent: User, customer_id: int, **kwargs: Any) -> Any:
    kwargs.setdefault("since", SINCE)
    kwargs.setdefault("until", NOW)
    return customer_mirror(actor=agent, customer_id=customer_id, now=NOW, **kwargs)


# --- each section equals the hand count -------------------------------------------------------


def test_contacts_per_week_and_channel_against_her_choice_and_the_cap(agent: User, told: Story) -> None:
    contacts = _mirror(agent, told.customer.pk).contacts
    assert (contacts.total, contacts.marketing, contacts.service) == (6, 4, 2)
    assert contacts.channels == ["email", "sms"]
    assert contacts.chosen_per_week == 2
    assert contacts.cap_per_week == 3
    weeks = {w.week_start.isoformat(): w for w in contacts.weeks}
    assert list(weeks) == ["2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"]
    busy = weeks["2026-10-26"]
    assert (busy.marketing, busy.service, busy.by_channel) == (3, 1, {"email": 4})
    assert busy.above_choice
    assert busy.above_cap
    calm = weeks["2026-11-09"]
    assert calm.by_channel == {"email": 1, "sms": 1}
    assert not calm.above_choice
    assert not calm.above_cap
    assert contacts.weeks_above_choice == 1
    assert contacts.recent_total == 6  # a period of 28 days: its last 30 days are all of it


def test_gate_holds_and_drops_in_words(agent: User, told: Story) -> None:
    gate = _mirror(agent, told.customer.pk).gate
    assert gate.sentences == [
        "held 2× by quiet hours",
        "dropped 1×: no consent from you",
        "dropped 1×: offers excluded by you",
    ]
    assert len(gate.items) == 4
    assert all(i.link.record.startswith("outreach.outboxmessage:") for i in gate.items)


def test_every_wait_in_working_and_wall_time_against_the_sla(agent: User, told: Story) -> None:
    conversations = {c.conversation_id: c for c in _mirror(agent, told.customer.pk).conversations}
    complaint = conversations[told.complaint.pk]
    first, following, resolution = complaint.waits
    assert first.what == "first response"
    assert first.working_minutes == 8 * 60 + 4 * 60  # Mon 09–17, Tue 09–13
    assert first.wall_seconds == 28 * 3600
    assert (first.target_minutes, first.met) == (480, False)
    assert (following.what, following.working_minutes, following.met) == ("next response", 60, True)
    assert resolution.what == "resolution"
    assert resolution.working_minutes == 3 * 8 * 60 + 60  # Mon, Tue, Wed and Thu 09–10
    assert resolution.met is True
    assert complaint.link.href == f"/support/c/{told.complaint.pk}/"
    call = conversations[told.call.pk]
    assert call.first_response.ended_at is None  # nobody answered the call's note yet


def test_promises_made_kept_broken(agent: User, told: Story) -> None:
    promises = _mirror(agent, told.customer.pk).promises
    assert (promises.made, promises.kept, promises.broken, promises.open) == (1, 0, 1, 0)
    assert promises.items[0].link.record.startswith("policies.promise:")


def test_times_they_had_to_repeat_themselves(agent: User, told: Story) -> None:
    repeats = _mirror(agent, told.customer.pk).repeats
    assert repeats.asked_known_facts == 1  # "send us your order number", overridden
    assert repeats.asked_again == 1  # a phone call while the email complaint was open
    assert repeats.identifiers_repeated == 1  # she gave the account number we had
    assert (repeats.handoffs, repeats.reopenings) == (0, 0)
    assert repeats.total == 3


def test_what_they_told_us(agent: User, told: Story) -> None:
    feedback = _mirror(agent, told.customer.pk).feedback
    assert [s.score for s in feedback.satisfaction] == [2]
    assert len(feedback.complaints) == 1
    assert [s.detail for s in feedback.unsubscribes] == ["newsletter by email (Unsubscribe Link)"]
    assert len(feedback.spam_complaints) == 1
    assert len(feedback.bounces) == 1


def test_the_verdict_gives_its_reasons_with_links(agent: User, told: Story) -> None:
    verdict = _mirror(agent, told.customer.pk).verdict
    texts = [r.text for r in verdict.reasons]
    assert verdict.tone == "bad"
    assert texts[0] == (
        "Contacted 6 times in 28 days (6 in the period: 4 marketing, 2 service); "
        "1 week(s) above the 2 a week they chose (busiest: 4)"
    )
    assert "A promise broken on 3 Nov: Call back about the earphones" in texts
    assert "Waited 1.5 working days for a complaint answer" in texts
    assert "Rated us 2/5 on 5 Nov" in texts
    assert "Reported our mail as spam on 11 Nov" in texts
    assert all(r.link is not None for r in verdict.reasons)


# --- the verdict follows the data ---------------------------------------------------------------


def test_a_higher_chosen_maximum_removes_the_contact_reason(agent: User, told: Story) -> None:
    consent_services.preferences_set(
        actor=None,
        customer=told.customer,
        max_messages_per_week=10,
        source="preference_page",
        now=at("11-18"),
    )
    texts = [r.text for r in _mirror(agent, told.customer.pk).verdict.reasons]
    assert not any(t.startswith("Contacted") for t in texts)


def test_one_more_message_changes_the_count_in_the_reason(agent: User, told: Story) -> None:
    delivered(told.customer, at("11-17"))
    texts = [r.text for r in _mirror(agent, told.customer.pk).verdict.reasons]
    assert texts[0].startswith("Contacted 7 times in 28 days (7 in the period")


def test_a_quick_complaint_answer_has_no_wait_reason(agent: User) -> None:
    customer = make_customer(time_zone="UTC")
    complaint = support_services.conversation_open(
        customer=customer, channel="email", kind="complaint", via="api", now=at("11-02", "09:00")
    )
    support_services.message_receive(conversation=complaint, body_text="Broken.", now=at("11-02", "09:00"))
    support_services.reply_send(
        actor=agent, conversation=complaint, body_text="Hello, a replacement ships today.", override=True,
        via="api", now=at("11-02", "10:00"),
    )  # fmt: skip
    verdict = _mirror(agent, customer.pk).verdict
    assert not any("complaint answer" in r.text for r in verdict.reasons)
    assert verdict.tone == "attention"  # a complaint was made, nothing else


def test_a_quiet_customer_gets_a_good_verdict(agent: User) -> None:
    customer = make_customer(time_zone="UTC")
    delivered(customer, at("11-10"))
    verdict = _mirror(agent, customer.pk).verdict
    assert verdict.tone == "good"
    assert verdict.reasons == []


# --- merge group ----------------------------------------------------------------------------------


def test_the_mirror_covers_the_merge_group_and_undo_splits_it(agent: User, told: Story) -> None:
    other = make_customer(time_zone="UTC")
    delivered(other, at("11-17"))
    delivered(other, at("11-18"), kind="service", purpose="service")
    merge = customer_merge(survivor=told.customer, absorbed=other, actor=None, now=at("11-19"))
    merged = _mirror(agent, told.customer.pk)
    assert sorted(merged.group_ids) == sorted([told.customer.pk, other.pk])
    assert (merged.contacts.total, merged.contacts.service) == (8, 3)
    # The absorbed profile's mirror is the person's: the survivor's.
    assert _mirror(agent, other.pk).customer.pk == told.customer.pk
    assert _mirror(agent, other.pk).contacts.total == 8
    merge_undo(merge=merge, actor=None, now=at("11-19", "12:00"))
    assert _mirror(agent, told.customer.pk).contacts.total == 6
    assert _mirror(agent, other.pk).contacts.total == 2


# --- input, access, audit, queries -------------------------------------------------------------


def test_bad_periods_name_their_field(agent: User, told: Story) -> None:
    with pytest.raises(InvalidInput) as inverted:
        _mirror(agent, told.customer.pk, since=NOW, until=SINCE)
    assert inverted.value.field == "until"
    with pytest.raises(InvalidInput) as long:
        _mirror(agent, told.customer.pk, since=NOW - timedelta(days=MAX_DAYS + 1))
    assert long.value.field == "since"


def test_analysts_and_marketers_may_not_read_the_mirror(make_user: Callable[..., User], told: Story) -> None:
    for role in (Role.ANALYST, Role.MARKETER):
        with pytest.raises(PermissionDenied):
            _mirror(make_user(role), told.customer.pk)


def test_reading_the_mirror_is_audited_for_every_profile_of_the_group(agent: User, told: Story) -> None:
    other = make_customer()
    customer_merge(survivor=told.customer, absorbed=other, actor=None)
    _mirror(agent, told.customer.pk)
    rows = AuditEntry.objects.filter(object_type="mirror", action=AuditEntry.Action.READ)
    assert sorted(rows.values_list("customer_id", flat=True)) == sorted([told.customer.pk, other.pk])
    assert set(rows.values_list("actor_id", flat=True)) == {agent.pk}


def test_the_mirror_reads_a_fixed_number_of_queries(
    agent: User, told: Story, django_assert_max_num_queries: Any
) -> None:
    # Profile, group, audit (with its transaction), the sections; whatever the history.
    with django_assert_max_num_queries(MIRROR_QUERIES) as small:
        _mirror(agent, told.customer.pk)
    for index in range(40):
        delivered(told.customer, SINCE + timedelta(hours=7 * index + 1), kind="service", purpose="service")
    for index in range(5):
        conversation = support_services.conversation_open(
            customer=told.customer, channel="chat", via="api", now=at("11-06") + timedelta(hours=index)
        )
        support_services.message_receive(
            conversation=conversation, body_text=f"Question {index}", now=at("11-06") + timedelta(hours=index)
        )
    with django_assert_max_num_queries(MIRROR_QUERIES) as large:
        mirror = _mirror(agent, told.customer.pk)
    assert mirror.contacts.total == 46
    assert len(large.captured_queries) == len(small.captured_queries)


# --- over HTTP ---------------------------------------------------------------------------------


def test_api_role_matrix(api_for: Callable[..., Any], anonymous_api: Any, told: Story) -> None:
    path = f"customers/{told.customer.pk}/mirror"
    assert anonymous_api.get(path).status_code == 401
    for role in (Role.ANALYST, Role.MARKETER):
        assert api_for(role).get(path).status_code == 403
    for role in (Role.AGENT, Role.MANAGER, Role.ADMIN):
        assert api_for(role).get(path, since=SINCE.isoformat(), until=NOW.isoformat()).status_code == 200


def test_api_returns_the_sections(agent_api: Any, told: Story) -> None:
    response = agent_api.get(
        f"customers/{told.customer.pk}/mirror", since=SINCE.isoformat(), until=NOW.isoformat()
    )
    body = response.json()
    assert body["contacts"]["total"] == 6
    assert body["contacts"]["weeks_above_choice"] == 1
    assert body["gate"]["sentences"][0] == "held 2× by quiet hours"
    assert body["promises"]["broken"] == 1
    assert body["repeats"]["total"] == 3
    assert body["verdict"]["tone"] == "bad"
    assert body["links"]["page"] == f"/insights/customers/{told.customer.pk}/mirror"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-11-20T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "until"),
        ({"since": "2020-01-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-11-01T00:00:00"}, "until"),
    ],
)
def test_api_bad_input_names_the_field_and_writes_nothing(
    agent_api: Any, told: Story, params: dict[str, str], field: str
) -> None:
    before = AuditEntry.objects.count()
    response = agent_api.get(f"customers/{told.customer.pk}/mirror", **params)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert AuditEntry.objects.count() == before


def test_api_unknown_customer_is_404(agent_api: Any) -> None:
    assert agent_api.get("customers/999999/mirror").status_code == 404


def test_page_role_matrix_and_content(make_user: Callable[..., User], told: Story) -> None:
    path = f"/insights/customers/{told.customer.pk}/mirror?since=2026-10-23&until=2026-11-20"
    assert Client().get(path).status_code == 302  # to sign in
    for role in (Role.ANALYST, Role.MARKETER):
        client = Client()
        client.force_login(make_user(role))
        assert client.get(path).status_code == 403
    client = Client()
    client.force_login(make_user(Role.AGENT))
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "held 2× by quiet hours" in html
    assert 'data-testid="chart"' in html
    assert f'href="/support/c/{told.complaint.pk}/"' in html
    assert AuditEntry.objects.filter(object_type="mirror", via="web").exists()


def test_page_bad_date_names_the_field(make_user: Callable[..., User], told: Story) -> None:
    client = Client()
    client.force_login(make_user(Role.AGENT))
    page = client.get(f"/insights/customers/{told.customer.pk}/mirror?since=soon")
    assert page.status_code == 422
    assert "since" in page.content.decode()


def test_customer_360_and_the_sidebar_link_to_the_mirror(make_user: Callable[..., User], told: Story) -> None:
    client = Client()
    client.force_login(make_user(Role.AGENT))
    href = f'href="/insights/customers/{told.customer.pk}/mirror"'
    assert href in client.get(f"/customers/{told.customer.pk}/").content.decode()
    assert href in client.get(f"/support/c/{told.complaint.pk}/").content.decode()
