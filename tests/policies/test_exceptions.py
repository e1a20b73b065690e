"""The exceptions registry: requests grouped by what they ask, groups that must be decided (S11)."""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from regard.customers.services import customer_merge, merge_undo
from regard.errors import Conflict, InvalidInput
from regard.policies.models import ExceptionEntry, ExceptionGroup, RemedyGrant
from regard.policies.selectors.exceptions import exception_groups, group_is_overdue
from regard.policies.services import exception_group_decide, exception_log, exception_move, remedy_grant
from regard.policies.similarity import group_requests
from regard.privacy.roles import Role
from regard.support.models import Notification
from tests.customers.factories import make_customer, unique
from tests.policies.helpers import buyer, earphones_policy

pytestmark = pytest.mark.django_db
LABELLED = Path(__file__).parent / "data" / "exception_requests.csv"
MONDAY = datetime(2026, 11, 2, 10, tzinfo=UTC)


def _person() -> Any:
    return make_customer(identifiers=[("email", f"x{unique()}@example.org")])


def test_paraphrases_go_together_and_unrelated_requests_apart_on_the_labelled_set() -> None:
    rows = list(csv.DictReader(LABELLED.open(encoding="utf-8")))
    labels = group_requests([row["request"] for row in rows])
    pairs = list(itertools.combinations(range(len(rows)), 2))
    together = [(a, b) for a, b in pairs if labels[a] == labels[b]]
    same = [(a, b) for a, b in pairs if rows[a]["group"] == rows[b]["group"]]
    precision = sum(1 for a, b in together if rows[a]["group"] == rows[b]["group"]) / len(together)
    recall = sum(1 for a, b in same if labels[a] == labels[b]) / len(same)
    assert precision >= 0.95, f"pairwise precision {precision:.3f}"
    assert recall >= 0.65, f"pairwise recall {recall:.3f}"
    unrelated = [labels[i] for i, row in enumerate(rows) if row["group"].startswith("other")]
    assert all(labels.count(label) == 1 for label in unrelated)  # nothing unrelated is lumped in


def test_a_group_over_the_threshold_gets_a_manager_and_a_due_date_then_becomes_overdue(
    make_user: Any,
) -> None:
    manager = make_user(Role.MANAGER)
    texts = [
        "Can you extend the guarantee on my earphones?",
        "I would like a longer guarantee for my earphones please",
        "Please extend the guarantee on the earphones",
        "A longer guarantee for earphones would be fair",
        "Could the guarantee for these earphones be extended?",
    ]
    for index, text in enumerate(texts):
        entry = exception_log(
            customer=_person(),
            request_text=text,
            action_taken="explained",
            actor=None,
            now=MONDAY + timedelta(days=index),
        )
    group = ExceptionGroup.objects.get(pk=entry.group_id)
    assert group.member_count == 5
    assert group.owner == manager
    assert group.decision_due_at is not None
    assert group.decision_due_at > group.threshold_reached_at  # type: ignore[operator]
    assert Notification.objects.filter(user=manager, kind=Notification.Kind.EXCEPTION_DUE).count() == 1
    assert not group_is_overdue(group, now=group.decision_due_at - timedelta(minutes=1))
    assert group_is_overdue(group, now=group.decision_due_at)
    assert list(exception_groups(actor=manager, overdue_only=True, now=group.decision_due_at)) == [group]
    decided = exception_group_decide(
        group=group,
        decision="decline",
        actor=manager,
        declined_answers={"en": "We keep 40 days.", "de": "Wir bleiben bei 40 Tagen."},
    )
    assert not group_is_overdue(decided, now=group.decision_due_at + timedelta(days=30))
    with pytest.raises(Conflict):
        exception_group_decide(group=group, decision="adopt", actor=manager, adopted_rule="x")


@pytest.mark.parametrize(
    ("decision", "fields", "field"),
    [
        ("decline", {"declined_answers": {"en": "No."}}, "declined_answers.de"),
        ("decline", {"declined_answers": {}}, "declined_answers.en"),
        ("adopt", {}, "adopted_policy_ref"),
        ("shrug", {}, "decision"),
    ],
)
def test_a_decision_without_its_wording_is_refused_by_name(
    make_user: Any, decision: str, fields: dict[str, Any], field: str
) -> None:
    entry = exception_log(
        customer=_person(), request_text="Gift wrapping please", action_taken="", actor=None
    )
    with pytest.raises(InvalidInput) as refused:
        exception_group_decide(group=entry.group, decision=decision, actor=make_user(Role.MANAGER), **fields)
    assert refused.value.field == field
    assert ExceptionGroup.objects.get(pk=entry.group_id).state == "undecided"


def test_after_adoption_a_matching_request_is_policy_not_an_exception(make_user: Any) -> None:
    manager = make_user(Role.MANAGER)
    first = exception_log(
        customer=_person(), request_text="Can I pay for my order in instalments?", action_taken="", actor=None
    )
    exception_group_decide(
        group=first.group, decision="adopt", actor=manager, adopted_rule="Instalments from 100 €"
    )
    later = exception_log(
        customer=_person(),
        request_text="Could I pay this order in instalments please?",
        action_taken="",
        actor=None,
    )
    assert later.group_id == first.group_id
    assert later.is_covered_by_decision
    assert ExceptionGroup.objects.get(pk=first.group_id).member_count == 1


def test_an_agent_moves_a_request_and_empty_text_is_refused(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    a = exception_log(
        customer=_person(), request_text="Longer guarantee for earphones please", action_taken="", actor=agent
    )
    b = exception_log(
        customer=_person(),
        request_text="Garantieverlängerung für Kopfhörer bitte",
        action_taken="",
        actor=agent,
    )
    moved = exception_move(exception=b, to_group=a.group, actor=agent)
    assert moved.group_id == a.group_id
    assert ExceptionGroup.objects.get(pk=a.group_id).member_count == 2
    with pytest.raises(InvalidInput) as refused:
        exception_log(customer=_person(), request_text="   ", action_taken="", actor=agent)
    assert refused.value.field == "request_text"


def test_a_grant_outside_policy_is_logged_as_an_exception(make_user: Any) -> None:
    earphones_policy()
    customer, order = buyer(days_ago=63)
    grant = remedy_grant(
        actor=make_user(Role.AGENT),
        customer=customer,
        kind="refund",
        order_line=order.lines.get(),
        amount="79.00",
        request_text="I want my money back for the earphones",
    )
    assert grant.is_exception
    entry = ExceptionEntry.objects.get(customer=customer)
    assert entry.request_text == "I want my money back for the earphones"
    assert "Granted refund" in entry.action_taken
    assert RemedyGrant.objects.count() == 1


def test_merge_and_undo_move_exceptions(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    absorbed, survivor = _person(), _person()
    entry = exception_log(
        customer=absorbed, request_text="Free returns to the shop please", action_taken="", actor=agent
    )
    merge = customer_merge(survivor=survivor, absorbed=absorbed, actor=agent)
    entry.refresh_from_db()
    assert entry.customer_id == survivor.pk
    merge_undo(merge=merge, actor=agent)
    entry.refresh_from_db()
    assert entry.customer_id == absorbed.pk


def test_the_api_and_pages_under_the_role_matrix(api_for: Any, anonymous_api: Any, make_user: Any) -> None:
    from django.test import Client

    customer = _person()
    assert anonymous_api.get("exceptions/groups").status_code == 401
    for role in (Role.MARKETER, Role.ANALYST, Role.PARTNER):
        assert api_for(role).get("exceptions/groups").status_code == 403
    agent = api_for(Role.AGENT)
    logged = agent.post(
        "exceptions", {"customer_id": customer.pk, "request_text": "Gift wrap my order please"}
    )
    assert logged.status_code == 201
    group_id = logged.json()["group_id"]
    assert (
        agent.post("exceptions", {"customer_id": customer.pk, "request_text": ""}).json()["field"]
        == "request_text"
    )
    assert agent.post("exceptions", {"customer_id": 999999, "request_text": "x"}).status_code == 404
    detail = agent.get(f"exceptions/groups/{group_id}")
    assert detail.status_code == 200
    assert len(detail.json()["weeks"]) == 12
    decline = {
        "decision": "decline",
        "declined_answers": {"en": "We do not wrap.", "de": "Wir verpacken nicht."},
    }
    assert agent.post(f"exceptions/groups/{group_id}/decide", decline).status_code == 403
    assert (
        api_for(Role.MANAGER)
        .post(f"exceptions/groups/{group_id}/decide", {"decision": "decline"})
        .json()["field"]
        == "declined_answers.en"
    )
    assert (
        api_for(Role.MANAGER).post(f"exceptions/groups/{group_id}/decide", decline).json()["state"]
        == "declined"
    )
    web = Client()
    assert web.get("/policies/exceptions/").status_code == 302
    web.force_login(make_user(Role.MARKETER))
    assert web.get("/policies/exceptions/").status_code == 403
    web.force_login(make_user(Role.MANAGER))
    page = web.get(f"/policies/exceptions/{group_id}/").content.decode()
    assert "<svg" in page
    assert "We do not wrap." in page


def test_a_declined_request_asked_again_shows_the_standard_answer_beside_the_reply(make_user: Any) -> None:
    from django.test import Client

    from regard.support import services as support_services

    manager = make_user(Role.MANAGER)
    first = exception_log(
        customer=_person(),
        request_text="Can you extend the guarantee on my earphones?",
        action_taken="",
        actor=None,
    )
    exception_group_decide(
        group=first.group,
        decision="decline",
        actor=manager,
        declined_answers={
            "en": "Our guarantee stays at 40 days; the legal guarantee still applies.",
            "de": "Unsere Garantie bleibt bei 40 Tagen.",
        },
    )
    asker = make_customer(identifiers=[("email", f"ask{unique()}@example.org")], language="de")
    conversation = support_services.conversation_open(
        customer=asker, channel="email", subject="Garantie", via="email"
    )
    support_services.message_receive(
        conversation=conversation, body_text="Could you extend the guarantee on my earphones please?"
    )
    web = Client()
    web.force_login(make_user(Role.AGENT))
    page = web.get(f"/support/c/{conversation.pk}/").content.decode()
    assert 'data-testid="declined-answer"' in page
    assert "Unsere Garantie bleibt bei 40 Tagen." in page  # in the customer's language
