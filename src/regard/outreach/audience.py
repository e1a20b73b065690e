"""The audience rule language: who a campaign is planned for (C3, S4).

A rule is a JSON object; every key narrows the audience (they combine with AND):

    {"countries": ["DE", "AT"],            profile country (ISO 3166 alpha-2)
     "languages": ["de"],                  language, by its primary subtag ("de" matches "de-AT")
     "ordered_skus": ["EAR-100"],          has ordered at least one of these products
     "bought_categories": ["earphones"],   has ordered from at least one of these categories
     "not_bought_categories": ["phones"],  has never ordered from any of these categories
     "ordered_within_days": 30,            has an order in the last N days
     "not_ordered_for_days": 90,           has no order in the last N days (never ordered counts)
     "created_within_days": 14,            the profile was created in the last N days
     "has_consent": {"purpose": "newsletter", "channel": "email"},
                                           consent in force now; the gate still decides at send time
     "customer_ids": [1, 2, 3]}            an explicit list

The rule becomes one SQL filter (``audience_queryset``), never Python over every customer, so
planning can stream a million people in chunks. Bad rules raise ``InvalidInput`` naming the part
(``audience.ordered_within_days``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from regard.consent.models import ConsentEvent
from regard.consent.services import clean_channel, clean_purpose
from regard.customers.models import Customer, Order, OrderLine
from regard.errors import InvalidInput
from regard.inputs import BIGINT_MAX

LIST_FIELDS = ("countries", "languages", "ordered_skus", "bought_categories", "not_bought_categories")
DAY_FIELDS = ("ordered_within_days", "not_ordered_for_days", "created_within_days")
FIELDS = (*LIST_FIELDS, *DAY_FIELDS, "has_consent", "customer_ids")
MAX_LIST = 10_000
MAX_IDS = 100_000
MAX_DAYS = 36_500
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def _bad(part: str, message: str) -> InvalidInput:
    return InvalidInput(f"audience.{part}: {message}", field=f"audience.{part}")


def _strings(part: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _bad(part, "a list of non-empty strings.")
    if len(value) > MAX_LIST:
        raise _bad(part, f"at most {MAX_LIST} values.")
    return sorted({v.strip() for v in value})


def _days(part: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_DAYS:
        raise _bad(part, f"a whole number of days from 1 to {MAX_DAYS}.")
    return value


def audience_clean(rule: Mapping[str, Any] | None) -> dict[str, Any]:
    """The rule checked and normalised; raises InvalidInput naming the bad part."""
    if rule is None:
        return {}
    if not isinstance(rule, Mapping):
        raise InvalidInput("audience: a JSON object of audience fields.", field="audience")
    cleaned: dict[str, Any] = {}
    for key, value in rule.items():
        if key not in FIELDS:
            raise _bad(key, f"not an audience field ({', '.join(sorted(FIELDS))}).")
        if key == "countries":
            values = [v.upper() for v in _strings(key, value)]
            wrong = next((v for v in values if not _COUNTRY.match(v)), None)
            if wrong is not None:
                raise _bad(key, f"'{wrong}' is not a two-letter country code.")
            cleaned[key] = sorted(set(values))
        elif key == "languages":
            values = [v.lower() for v in _strings(key, value)]
            wrong = next((v for v in values if not _LANGUAGE.match(v)), None)
            if wrong is not None:
                raise _bad(key, f"'{wrong}' is not a language code such as 'de' or 'pt'.")
            cleaned[key] = sorted(set(values))
        elif key in LIST_FIELDS:
            cleaned[key] = _strings(key, value)
        elif key in DAY_FIELDS:
            cleaned[key] = _days(key, value)
        elif key == "has_consent":
            cleaned[key] = _consent(value)
        elif key == "customer_ids":
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 < v <= BIGINT_MAX for v in value
            ):
                raise _bad(key, "a list of customer ids (positive whole numbers).")
            if len(value) > MAX_IDS:
                raise _bad(key, f"at most {MAX_IDS} ids; use a rule for larger audiences.")
            cleaned[key] = sorted(set(value))
    return cleaned


def _consent(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        value = {"purpose": value}
    if not isinstance(value, Mapping) or not set(value) <= {"purpose", "channel"} or "purpose" not in value:
        raise _bad("has_consent", 'an object {"purpose": ..., "channel": ...} (channel defaults to email).')
    purpose = clean_purpose(str(value["purpose"]), field="audience.has_consent.purpose")
    channel = clean_channel(str(value.get("channel", "email")), field="audience.has_consent.channel")
    return {"purpose": purpose, "channel": channel}


def audience_filter(rule: Mapping[str, Any], *, now: datetime) -> Q:
    """One Q over Customer for a cleaned rule (consent aside, see ``audience_queryset``)."""
    condition = Q(merged_into__isnull=True)
    if "customer_ids" in rule:
        condition &= Q(pk__in=rule["customer_ids"])
    if rule.get("countries"):
        condition &= Q(country__in=rule["countries"])
    if rule.get("languages"):
        by_language = Q()
        for language in rule["languages"]:
            by_language |= Q(language__iexact=language) | Q(language__istartswith=f"{language}-")
        condition &= by_language
    lines = OrderLine.objects.filter(order__customer_id=OuterRef("pk"))
    if rule.get("ordered_skus"):
        condition &= Q(Exists(lines.filter(product__sku__in=rule["ordered_skus"])))
    if rule.get("bought_categories"):
        condition &= Q(Exists(lines.filter(product__category__in=rule["bought_categories"])))
    if rule.get("not_bought_categories"):
        condition &= ~Q(Exists(lines.filter(product__category__in=rule["not_bought_categories"])))
    orders = Order.objects.filter(customer_id=OuterRef("pk"))
    if "ordered_within_days" in rule:
        since = now - timedelta(days=rule["ordered_within_days"])
        condition &= Q(Exists(orders.filter(purchased_at__gte=since)))
    if "not_ordered_for_days" in rule:
        since = now - timedelta(days=rule["not_ordered_for_days"])
        condition &= ~Q(Exists(orders.filter(purchased_at__gte=since)))
    if "created_within_days" in rule:
        condition &= Q(created_at__gte=now - timedelta(days=rule["created_within_days"]))
    return condition


def audience_queryset(rule: Mapping[str, Any] | None, *, now: datetime | None = None) -> QuerySet[Customer]:
    """The customers a rule selects, as a lazy queryset (iterate it in chunks for large audiences)."""
    now = now or timezone.now()
    cleaned = audience_clean(rule)
    # Art. 17: an erased profile is a shell with no one behind it (its ledger rows stay).
    customers = Customer.objects.filter(erased_at__isnull=True)
    if "has_consent" in cleaned:
        latest = (
            ConsentEvent.objects.filter(
                customer_id=OuterRef("pk"),
                purpose=cleaned["has_consent"]["purpose"],
                channel=cleaned["has_consent"]["channel"],
                occurred_at__lte=now,
            )
            .order_by("-occurred_at", "-id")
            .values("action")[:1]
        )
        # The latest event for purpose × channel is the consent in force (as consent_current derives it).
        customers = customers.alias(consent_in_force=Subquery(latest)).filter(
            consent_in_force=ConsentEvent.Action.GRANTED
        )
    return customers.filter(audience_filter(cleaned, now=now))
