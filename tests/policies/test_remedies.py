"""Remedy policies are versioned, grants record what they were granted under, and follow merges (S10, S11)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from regard.customers.models import TimelineEvent
from regard.customers.services import customer_merge, merge_undo
from regard.errors import InvalidInput
from regard.policies.models import Promise, RemedyGrant, RemedyPolicy, RemedyPolicyVersion
from regard.policies.selectors.remedies import line_entitlement
from regard.policies.services import remedy_grant, remedy_policy_create, remedy_policy_revise
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Role
from tests.customers.factories import make_customer
from tests.policies.helpers import buyer, earphones_policy, order_of

pytestmark = pytest.mark.django_db


def test_a_credit_inside_the_policy_is_granted_under_its_version_and_becomes_a_promise(
    make_user: Any,
) -> None:
    agent = make_user(Role.AGENT)
    policy = earphones_policy()
    customer, order = buyer(days_ago=63)
    line = order.lines.get()
    grant = remedy_grant(
        actor=agent, customer=customer, kind="credit", order_line=line, amount="10.00", currency="EUR"
    )
    assert not grant.is_exception
    assert grant.policy_version == policy.versions.get(number=1)
    assert grant.evaluation["days_since_purchase"] == 63
    promise = Promise.objects.get(pk=grant.promise_id)
    assert (promise.kind, promise.owner, promise.state) == ("credit", agent, "open")
    assert "10.00 EUR" in promise.what
    assert TimelineEvent.objects.filter(customer=customer, kind="remedy.granted").exists()
    assert AuditEntry.objects.filter(object_type="remedy_grant", object_id=str(grant.pk)).exists()


def test_a_refund_outside_the_window_is_an_exception_and_needs_the_customers_words(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    earphones_policy()
    customer, order = buyer(days_ago=63)
    line = order.lines.get()
    with pytest.raises(InvalidInput) as refused:
        remedy_grant(actor=agent, customer=customer, kind="refund", order_line=line, amount="79.00")
    assert refused.value.field == "request_text"
    assert not RemedyGrant.objects.exists()
    grant = remedy_grant(
        actor=agent,
        customer=customer,
        kind="refund",
        order_line=line,
        amount="79.00",
        request_text="I want my money back",
    )
    assert grant.is_exception
    assert grant.policy_version is None


def test_a_policy_change_never_rewrites_a_past_grant(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    manager = make_user(Role.MANAGER)
    policy = earphones_policy()
    customer, order = buyer(days_ago=63)
    line = order.lines.get()
    grant = remedy_grant(
        actor=agent, customer=customer, kind="credit", order_line=line, amount="10.00", currency="EUR"
    )
    before = dict(grant.evaluation)
    remedy_policy_revise(
        actor=manager,
        policy=policy,
        windows=[{"from_day": 0, "to_day": 90, "remedies": [{"kind": "replacement"}]}],
        wording={"en": "Ninety days."},
    )
    grant.refresh_from_db()
    assert grant.policy_version is not None
    assert grant.policy_version.number == 1
    assert grant.evaluation == before
    assert RemedyPolicyVersion.objects.get(policy=policy, number=1).windows[0]["to_day"] == 40
    now = line_entitlement(line, customer=customer)
    assert now.version is not None
    assert now.version.number == 2
    assert now.entitlement.is_in_guarantee


@pytest.mark.parametrize(
    ("windows", "field"),
    [
        (
            [
                {"from_day": 0, "to_day": 40, "remedies": [{"kind": "replacement"}]},
                {"from_day": 30, "to_day": 60, "remedies": [{"kind": "repair"}]},
            ],
            "windows[1]",
        ),
        ([{"from_day": -1, "to_day": 40, "remedies": [{"kind": "replacement"}]}], "windows[0].from_day"),
        ([{"from_day": 0, "to_day": 40, "remedies": [{"kind": "hug"}]}], "windows[0].remedies[0].kind"),
        (
            [{"from_day": 0, "to_day": 40, "remedies": [{"kind": "credit"}]}],
            "windows[0].remedies[0].max_amount",
        ),
        (
            [
                {
                    "from_day": 0,
                    "to_day": 40,
                    "remedies": [{"kind": "credit", "max_amount": "-5", "currency": "EUR"}],
                }
            ],
            "windows[0].remedies[0].max_amount",
        ),
        (
            [
                {
                    "from_day": 0,
                    "to_day": 40,
                    "remedies": [{"kind": "credit", "max_amount": "5", "currency": "euro"}],
                }
            ],
            "windows[0].remedies[0].currency",
        ),
        ([], "windows"),
    ],
)
def test_bad_terms_are_refused_by_name_and_write_nothing(windows: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        remedy_policy_create(actor=None, name="x", category="earphones", windows=windows, wording={"en": "x"})
    assert refused.value.field == field
    assert not RemedyPolicy.objects.exists()


def test_wording_in_english_is_required() -> None:
    with pytest.raises(InvalidInput) as refused:
        remedy_policy_create(
            actor=None,
            name="x",
            category="earphones",
            windows=[{"from_day": 0, "to_day": 40, "remedies": [{"kind": "replacement"}]}],
            wording={"de": "nur Deutsch"},
        )
    assert refused.value.field == "wording.en"


def test_the_most_specific_policy_applies() -> None:
    earphones_policy()
    remedy_policy_create(
        actor=None,
        name="Aria in Germany",
        category="earphones",
        sku="EAR-100",
        country="DE",
        windows=[{"from_day": 0, "to_day": 100, "remedies": [{"kind": "replacement"}]}],
        wording={"en": "A hundred days."},
    )
    german, order = buyer(days_ago=63, country="DE", time_zone="Europe/Berlin")
    british, other = buyer(days_ago=63)
    assert line_entitlement(order.lines.get(), customer=german).policy.name == "Aria in Germany"  # type: ignore[union-attr]
    assert line_entitlement(other.lines.get(), customer=british).policy.name == "Earphones: 40-day guarantee"  # type: ignore[union-attr]


def test_an_order_line_of_someone_else_is_refused(make_user: Any) -> None:
    earphones_policy()
    customer, _ = buyer()
    _, stranger_order = buyer()
    with pytest.raises(InvalidInput) as refused:
        remedy_grant(
            actor=make_user(Role.AGENT),
            customer=customer,
            kind="repair",
            order_line=stranger_order.lines.get(),
        )
    assert refused.value.field == "order_line"
    assert not RemedyGrant.objects.exists()


def test_merge_and_undo_move_remedies_with_the_person(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    earphones_policy()
    absorbed, order = buyer(days_ago=10)
    survivor = make_customer(identifiers=[("email", "survivor@example.org")])
    grant = remedy_grant(actor=agent, customer=absorbed, kind="replacement", order_line=order.lines.get())
    merge = customer_merge(survivor=survivor, absorbed=absorbed, actor=agent)
    grant.refresh_from_db()
    assert grant.customer_id == survivor.pk
    assert Promise.objects.get(pk=grant.promise_id).customer_id == survivor.pk
    merge_undo(merge=merge, actor=agent)
    grant.refresh_from_db()
    assert grant.customer_id == absorbed.pk
    assert Promise.objects.get(pk=grant.promise_id).customer_id == absorbed.pk


def test_goodwill_after_a_year_is_within_its_limit(make_user: Any) -> None:
    earphones_policy()
    customer, _ = buyer()
    line = order_of(customer, days_ago=400).lines.get()
    entitlement = line_entitlement(line, customer=customer).entitlement
    assert entitlement.allows("goodwill", Decimal("20.00"))
    assert not entitlement.allows("goodwill", Decimal("25.00"))
