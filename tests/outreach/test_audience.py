"""The audience rule language (C3, S4): one SQL filter, a clear 4xx naming the bad part."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regard.consent import services as consent_services
from regard.customers import services as customer_services
from regard.customers.models import Customer
from regard.errors import InvalidInput
from regard.outreach.models import Campaign
from regard.outreach.selectors import audience_queryset
from regard.privacy.roles import Role
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def _order(customer: Customer, *, sku: str, category: str, days_ago: int) -> None:
    customer_services.order_record(
        actor=None,
        customer=customer,
        order_number=f"ORD-{unique()}",
        purchased_at=NOW - timedelta(days=days_ago),
        currency="EUR",
        lines=[
            customer_services.OrderLineInput(
                sku=sku, quantity=1, unit_price=Decimal("10.00"), product_name=sku, category=category
            )
        ],
    )


def _consent(customer: Customer, action: str, *, purpose: str = "newsletter", at: datetime) -> None:
    write = consent_services.consent_grant if action == "grant" else consent_services.consent_withdraw
    write(
        actor=None,
        customer=customer,
        purpose=purpose,
        channel="email",
        source="form",
        proof={},
        occurred_at=at,
    )


def _ids(rule: dict[str, Any]) -> set[int]:
    return set(audience_queryset(rule, now=NOW).values_list("pk", flat=True))


@pytest.fixture
def people() -> dict[str, Customer]:
    anna = make_customer(language="de", country="DE")
    jean = make_customer(language="fr", country="FR")
    joao = make_customer(language="pt-BR", country="BR")
    old = make_customer(language="en-GB", country="GB")
    Customer.objects.filter(pk=old.pk).update(created_at=NOW - timedelta(days=400))
    _order(anna, sku="EAR-100", category="earphones", days_ago=5)
    _order(jean, sku="PH-13", category="phones", days_ago=200)
    _order(old, sku="EAR-200", category="earphones", days_ago=40)
    _consent(anna, "grant", at=NOW - timedelta(days=10))
    _consent(jean, "grant", at=NOW - timedelta(days=10))
    _consent(jean, "withdraw", at=NOW - timedelta(days=1))
    return {"anna": anna, "jean": jean, "joao": joao, "old": old}


def test_each_rule_narrows_the_audience(people: dict[str, Customer]) -> None:
    anna, jean, joao, old = (people[k].pk for k in ("anna", "jean", "joao", "old"))
    everyone = {anna, jean, joao, old}
    assert _ids({"countries": ["de", "FR"]}) == {anna, jean}
    assert _ids({"languages": ["pt", "en"]}) & everyone == {joao, old}
    assert _ids({"ordered_skus": ["EAR-100", "PH-13"]}) == {anna, jean}
    assert _ids({"bought_categories": ["earphones"]}) == {anna, old}
    assert _ids({"not_bought_categories": ["earphones"]}) & everyone == {jean, joao}
    assert _ids({"ordered_within_days": 30}) == {anna}
    assert _ids({"not_ordered_for_days": 30}) & everyone == {jean, joao, old}
    assert _ids({"created_within_days": 30}) & everyone == {anna, jean, joao}
    # Jean withdrew after granting: the consent in force is the latest event.
    assert _ids({"has_consent": {"purpose": "newsletter"}}) & everyone == {anna}
    assert _ids(
        {"customer_ids": [anna, old], "bought_categories": ["earphones"], "ordered_within_days": 7}
    ) == {anna}


def test_a_merged_away_profile_is_never_in_the_audience(people: dict[str, Customer]) -> None:
    customer_services.customer_merge(survivor=people["joao"], absorbed=people["anna"], actor=None)
    assert _ids({"customer_ids": [people["anna"].pk, people["joao"].pk]}) == {people["joao"].pk}


def test_the_rule_is_one_query_whatever_the_audience(people: dict[str, Customer]) -> None:
    rule = {"countries": ["DE"], "ordered_within_days": 30, "has_consent": {"purpose": "newsletter"}}
    with CaptureQueriesContext(connection) as queries:
        list(audience_queryset(rule, now=NOW).values_list("pk", flat=True))
    assert len(queries) == 1


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"zodiac": ["leo"]}, "audience.zodiac"),
        ({"countries": "DE"}, "audience.countries"),
        ({"countries": ["Germany"]}, "audience.countries"),
        ({"languages": ["deutsch"]}, "audience.languages"),
        ({"ordered_within_days": -3}, "audience.ordered_within_days"),
        ({"not_ordered_for_days": "90"}, "audience.not_ordered_for_days"),
        ({"created_within_days": True}, "audience.created_within_days"),
        ({"has_consent": {"purpose": "solar"}}, "audience.has_consent.purpose"),
        ({"has_consent": {"purpose": "newsletter", "channel": "pigeon"}}, "audience.has_consent.channel"),
        ({"has_consent": ["newsletter"]}, "audience.has_consent"),
        ({"customer_ids": ["7"]}, "audience.customer_ids"),
        # Accepted once, then preview and launch answered 500: no database integer holds it.
        ({"customer_ids": [2**63]}, "audience.customer_ids"),
        ({"ordered_skus": [""]}, "audience.ordered_skus"),
    ],
)
def test_a_bad_rule_names_its_part_over_the_api_and_creates_nothing(
    api_for: Any, rule: Any, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        audience_queryset(rule)
    assert refused.value.field == field
    before = Campaign.objects.count()
    response = api_for(Role.MARKETER).post(
        "campaigns", {"name": "x", "purpose": "newsletter", "subject": "s", "body": "b", "audience": rule}
    )
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert field in response.json()["detail"]
    assert Campaign.objects.count() == before


def test_launch_plans_exactly_the_rule(api_for: Any, people: dict[str, Customer]) -> None:
    marketer = api_for(Role.MARKETER)
    created = marketer.post(
        "campaigns",
        {
            "name": "Earphone owners",
            "purpose": "newsletter",
            "subject": "s",
            "body": "{{ greeting }}",
            "audience": {"bought_categories": ["earphones"], "has_consent": "newsletter"},
        },
    ).json()
    launched = marketer.post(f"campaigns/{created['id']}/launch").json()
    assert launched["planned_count"] == 1
    assert set(Campaign.objects.get(pk=created["id"]).messages.values_list("customer_id", flat=True)) == {
        people["anna"].pk
    }


PROFILES = st.lists(
    st.tuples(
        st.sampled_from(["DE", "FR", "BR"]),
        st.sampled_from(["de", "fr", "pt-BR", "en"]),
        st.lists(st.tuples(st.sampled_from(["A-1", "B-2", "C-3"]), st.integers(0, 100)), max_size=3),
        st.sampled_from([None, "grant", "withdraw"]),
    ),
    min_size=1,
    max_size=6,
)
RULES = st.fixed_dictionaries(
    {},
    optional={
        "countries": st.lists(st.sampled_from(["DE", "FR", "BR"]), min_size=1, max_size=2),
        "languages": st.lists(st.sampled_from(["de", "fr", "pt", "en"]), min_size=1, max_size=2),
        "ordered_skus": st.lists(st.sampled_from(["A-1", "B-2", "C-3"]), min_size=1, max_size=2),
        "not_bought_categories": st.lists(st.sampled_from(["cat-A", "cat-B"]), min_size=1, max_size=1),
        "ordered_within_days": st.integers(1, 100),
        "not_ordered_for_days": st.integers(1, 100),
        "has_consent": st.just({"purpose": "newsletter"}),
    },
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(profiles=PROFILES, rule=RULES)
def test_the_sql_filter_agrees_with_the_rule_read_literally(
    profiles: list[Any], rule: dict[str, Any]
) -> None:
    with transaction.atomic():
        expected, created = set(), []
        for country, language, orders, consent in profiles:
            customer = make_customer(country=country, language=language)
            created.append(customer.pk)
            for sku, days_ago in orders:
                _order(customer, sku=sku, category=f"cat-{sku[0]}", days_ago=days_ago)
            if consent:
                _consent(customer, consent, at=NOW - timedelta(days=1))
            skus = {sku for sku, _ in orders}
            ages = [days for _, days in orders]
            checks = [
                country in rule.get("countries", [country]),
                language.split("-")[0] in rule.get("languages", [language.split("-")[0]]),
                "ordered_skus" not in rule or bool(skus & set(rule["ordered_skus"])),
                not ({f"cat-{s[0]}" for s in skus} & set(rule.get("not_bought_categories", []))),
                "ordered_within_days" not in rule or any(d <= rule["ordered_within_days"] for d in ages),
                "not_ordered_for_days" not in rule or all(d > rule["not_ordered_for_days"] for d in ages),
                "has_consent" not in rule or consent == "grant",
            ]
            if all(checks):
                expected.add(customer.pk)
        assert _ids(rule) & set(created) == expected
        transaction.set_rollback(True)
