"""Writing remedy policies (versioned) and granting remedies (C5, S10, S11)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from regard.customers.models import Customer, OrderLine
from regard.customers.selectors import customer_current, customer_group_ids
from regard.customers.services import timeline_append
from regard.errors import Conflict, InvalidInput
from regard.policies.models import Promise, RemedyGrant, RemedyKind, RemedyPolicy, RemedyPolicyVersion
from regard.policies.selectors.remedies import line_entitlement
from regard.policies.services.exceptions import exception_log
from regard.policies.services.promises import Actor, promise_record
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record
from regard.support.models import Conversation

_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
MAX_DAY = 36_500
# How long a credit or a shipment the agent grants may take, in working days (the promise's due time).
CREDIT_DUE_WORKING_DAYS = 3
SHIPMENT_DUE_WORKING_DAYS = 3


def _amount(value: object, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{field}: a number such as 10.00.", field=field) from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("1000000"):
        raise InvalidInput(f"{field}: an amount from 0 to 1,000,000.", field=field)
    return amount.quantize(Decimal("0.01"))


def _currency(value: object, field: str) -> str:
    text = str(value or "").strip().upper()
    if not _CURRENCY.fullmatch(text):
        raise InvalidInput(f"{field}: a three-letter currency code such as EUR.", field=field)
    return text


def clean_windows(windows: Any) -> list[dict[str, Any]]:
    """Windows as stored: sorted, not overlapping, each with known remedies. Raises naming the field."""
    if not isinstance(windows, list) or not windows:
        raise InvalidInput(
            "windows: at least one window, e.g. days 0–40 with a replacement.", field="windows"
        )
    cleaned: list[dict[str, Any]] = []
    for index, window in enumerate(windows):
        where = f"windows[{index}]"
        if not isinstance(window, Mapping):
            raise InvalidInput(f"{where}: an object with from_day, to_day and remedies.", field=where)
        start, end = window.get("from_day"), window.get("to_day")
        if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start <= MAX_DAY:
            raise InvalidInput(f"{where}.from_day: a whole number of days from 0.", field=f"{where}.from_day")
        if end is not None and (
            not isinstance(end, int) or isinstance(end, bool) or not start <= end <= MAX_DAY
        ):
            raise InvalidInput(
                f"{where}.to_day: a whole number of days, not before from_day (or null for 'from then on').",
                field=f"{where}.to_day",
            )
        remedies = window.get("remedies")
        if not isinstance(remedies, list) or not remedies:
            raise InvalidInput(f"{where}.remedies: at least one remedy.", field=f"{where}.remedies")
        kept = []
        for position, remedy in enumerate(remedies):
            spot = f"{where}.remedies[{position}]"
            if not isinstance(remedy, Mapping) or remedy.get("kind") not in RemedyKind.values:
                raise InvalidInput(
                    f"{spot}.kind: one of {', '.join(RemedyKind.values)}.", field=f"{spot}.kind"
                )
            item: dict[str, Any] = {"kind": remedy["kind"]}
            if remedy.get("max_amount") is not None:
                item["max_amount"] = str(_amount(remedy["max_amount"], f"{spot}.max_amount"))
                item["currency"] = _currency(remedy.get("currency"), f"{spot}.currency")
            elif remedy["kind"] == RemedyKind.CREDIT:
                raise InvalidInput(
                    f"{spot}.max_amount: a credit needs its amount.", field=f"{spot}.max_amount"
                )
            kept.append(item)
        cleaned.append({"from_day": start, "to_day": end, "remedies": kept})
    cleaned.sort(key=lambda w: w["from_day"])
    for earlier, later in itertools.pairwise(cleaned):
        if earlier["to_day"] is None or later["from_day"] <= earlier["to_day"]:
            index = cleaned.index(later)
            raise InvalidInput(
                f"windows[{index}]: overlaps the window from day {earlier['from_day']}.",
                field=f"windows[{index}]",
            )
    return cleaned


def clean_wording(wording: Any) -> dict[str, str]:
    if not isinstance(wording, Mapping) or not str(wording.get("en", "")).strip():
        raise InvalidInput(
            "wording.en: the customer-facing wording in English (other languages optional).",
            field="wording.en",
        )
    cleaned = {}
    for language, text in wording.items():
        if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", language):
            raise InvalidInput(f"wording: '{str(language)[:10]}' is not a language code.", field="wording")
        if not isinstance(text, str) or len(text) > 2000:
            raise InvalidInput(
                f"wording.{language}: text up to 2,000 characters.", field=f"wording.{language}"
            )
        if text.strip():
            cleaned[language] = " ".join(text.split())
    return cleaned


def _audit(
    actor: Actor, action: str, object_type: str, object_id: object, now: datetime, **detail: object
) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        via="api",
        detail=dict(detail),
        now=now,
    )


@transaction.atomic
def clean_counted_from(value: Any) -> str:
    if value not in ("purchase", "delivery"):
        raise InvalidInput("counted_from: 'purchase' or 'delivery'.", field="counted_from")
    return str(value)


def remedy_policy_create(
    *,
    actor: Actor,
    name: str,
    category: str,
    windows: Any,
    wording: Any,
    sku: str = "",
    country: str = "",
    counted_from: str = "purchase",
    now: datetime | None = None,
) -> RemedyPolicy:
    now = now or timezone.now()
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise InvalidInput("name: a name up to 200 characters.", field="name")
    category = (category or "").strip().lower()
    if not category or len(category) > 100:
        raise InvalidInput(
            "category: the product category the policy covers (e.g. earphones).", field="category"
        )
    country = (country or "").strip().upper()
    if country and not _COUNTRY.fullmatch(country):
        raise InvalidInput(
            "country: a two-letter country code such as DE, or empty for all.", field="country"
        )
    sku = (sku or "").strip()
    cleaned_windows, cleaned_wording = clean_windows(windows), clean_wording(wording)
    counted_from = clean_counted_from(counted_from)
    if RemedyPolicy.objects.filter(category=category, sku=sku, country=country).exists():
        raise Conflict(
            "category: a policy for this category, SKU and country exists; change that one.", field="category"
        )
    policy = RemedyPolicy.objects.create(
        name=name, category=category, sku=sku, country=country, created_at=now
    )
    RemedyPolicyVersion.objects.create(
        policy=policy,
        number=1,
        windows=cleaned_windows,
        wording=cleaned_wording,
        counted_from=counted_from,
        created_by=actor if isinstance(actor, User) else None,
        created_at=now,
    )
    _audit(actor, AuditEntry.Action.CREATE, "remedy_policy", policy.pk, now, category=category, version=1)
    return policy


@transaction.atomic
def remedy_policy_revise(
    *,
    actor: Actor,
    policy: RemedyPolicy,
    windows: Any,
    wording: Any,
    name: str | None = None,
    is_active: bool | None = None,
    counted_from: str | None = None,
    now: datetime | None = None,
) -> RemedyPolicyVersion:
    """A new version of the terms; earlier versions and what was granted under them stay as they were."""
    now = now or timezone.now()
    policy = RemedyPolicy.objects.select_for_update().get(pk=policy.pk)
    cleaned_windows, cleaned_wording = clean_windows(windows), clean_wording(wording)
    previous = policy.versions.order_by("-number").first()
    counted_from = clean_counted_from(
        counted_from if counted_from is not None else (previous.counted_from if previous else "purchase")
    )
    changed = []
    if name is not None:
        name = " ".join(name.split())
        if not name or len(name) > 200:
            raise InvalidInput("name: a name up to 200 characters.", field="name")
        policy.name = name
        changed.append("name")
    if is_active is not None:
        policy.is_active = is_active
        changed.append("is_active")
    if changed:
        policy.save(update_fields=changed)
    number = (policy.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = RemedyPolicyVersion.objects.create(
        policy=policy,
        number=number,
        windows=cleaned_windows,
        wording=cleaned_wording,
        counted_from=counted_from,
        created_by=actor if isinstance(actor, User) else None,
        created_at=now,
    )
    _audit(actor, AuditEntry.Action.UPDATE, "remedy_policy", policy.pk, now, version=number)
    return version


_PROMISE_FOR = {
    RemedyKind.CREDIT: (Promise.Kind.CREDIT, CREDIT_DUE_WORKING_DAYS),
    RemedyKind.REFUND: (Promise.Kind.REFUND, CREDIT_DUE_WORKING_DAYS),
    RemedyKind.REPLACEMENT: (Promise.Kind.SHIPMENT, SHIPMENT_DUE_WORKING_DAYS),
    RemedyKind.REPAIR: (Promise.Kind.SHIPMENT, SHIPMENT_DUE_WORKING_DAYS),
}


@transaction.atomic
def remedy_grant(
    *,
    actor: User,
    customer: Customer,
    kind: str,
    order_line: OrderLine | None = None,
    conversation: Conversation | None = None,
    amount: object = None,
    currency: str = "",
    note: str = "",
    request_text: str = "",
    via: str = "api",
    now: datetime | None = None,
) -> RemedyGrant:
    """Give a remedy; one the policy and the law do not allow is recorded as an exception (S11).

    A credit, refund, replacement or repair is also a promise, due on the team's working days (S22).
    """
    now = now or timezone.now()
    if kind not in RemedyKind.values:
        raise InvalidInput(f"kind: one of {', '.join(RemedyKind.values)}.", field="kind")
    customer = customer_current(customer)
    group = customer_group_ids(customer)
    if order_line is not None and order_line.order.customer_id not in group:
        raise InvalidInput("order_line: not an order line of this customer.", field="order_line")
    if conversation is not None and conversation.customer_id not in group:
        raise InvalidInput("conversation: belongs to another customer.", field="conversation")
    money: Decimal | None = None
    code = ""
    if kind in (RemedyKind.CREDIT, RemedyKind.REFUND, RemedyKind.GOODWILL) or amount not in (None, ""):
        if amount in (None, ""):
            raise InvalidInput("amount: a credit or refund needs its amount.", field="amount")
        money = _amount(amount, "amount")
        code = _currency(currency or (order_line.order.currency if order_line else ""), "currency")
    entitlement = line_entitlement(order_line, customer=customer, now=now) if order_line is not None else None
    allowed = entitlement is not None and entitlement.entitlement.allows(kind, money, code)
    request_text = " ".join((request_text or "").split())[:1000]
    if not allowed and not request_text:
        raise InvalidInput(
            "request_text: this remedy is outside the policy; say what the customer asked for, in their words"
            " (it is logged as an exception).",
            field="request_text",
        )
    version = entitlement.version if (allowed and entitlement is not None) else None
    grant = RemedyGrant.objects.create(
        customer=customer,
        conversation=conversation,
        order_line=order_line,
        kind=kind,
        amount=money,
        currency=code,
        policy_version=version,
        is_exception=not allowed,
        request_text=request_text,
        note=" ".join((note or "").split())[:1000],
        evaluation=entitlement.entitlement.as_dict() if entitlement is not None else {},
        granted_by=actor,
        granted_at=now,
    )
    what = RemedyKind(kind).label.lower() + (f" of {money} {code}" if money is not None else "")
    product = f" for {order_line.product.name}" if order_line is not None else ""
    timeline_append(
        customer=customer,
        kind="remedy.granted",
        channel=conversation.channel if conversation else "",
        summary=f"Granted {what}{product}" + (" (an exception to policy)" if not allowed else ""),
        occurred_at=now,
        subject=grant,
        data={"kind": kind, "is_exception": not allowed, "policy_version": version.pk if version else None},
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        object_type="remedy_grant",
        object_id=grant.pk,
        customer_id=customer.pk,
        via=via,
        detail={"kind": kind, "is_exception": not allowed},
        now=now,
    )
    if not allowed:
        # S11: what no policy allows is logged, grouped with requests like it, and must be decided.
        exception_log(
            customer=customer,
            request_text=request_text,
            action_taken=f"Granted {what}{product}",
            conversation=conversation,
            actor=actor,
            now=now,
        )
    if kind in _PROMISE_FOR:
        promise_kind, days = _PROMISE_FOR[RemedyKind(kind)]
        grant.promise = promise_record(
            customer=customer,
            conversation=conversation,
            kind=promise_kind,
            what=f"{what[:1].upper()}{what[1:]}{product}",
            owner=actor,
            actor=actor,
            due_working_days=days,
            source="remedy",
            via=via,
            now=now,
        )
        grant.save(update_fields=["promise"])
    return grant


def windows_from_text(text: str) -> list[dict[str, Any]]:
    """The policy screen's window lines ("0-40: replacement, refund"; "41-365: repair, credit 10 EUR"; "366-: goodwill 20 EUR")."""
    windows: list[dict[str, Any]] = []
    for number, raw in enumerate(line for line in text.splitlines() if line.strip()):
        span, _, rest = raw.partition(":")
        match = re.fullmatch(r"\s*(\d{1,5})\s*[-–]\s*(\d{1,5})?\s*", span)
        if not match or not rest.strip():
            raise InvalidInput(
                f"windows[{number}]: write 'FROM-TO: remedy, remedy' (e.g. '0-40: replacement, refund').",
                field=f"windows[{number}]",
            )
        remedies = []
        for part in rest.split(","):
            words = part.split()
            if not words:
                continue
            remedy: dict[str, Any] = {"kind": words[0].lower()}
            if len(words) >= 2:
                remedy["max_amount"] = words[1]
                remedy["currency"] = words[2] if len(words) > 2 else ""
            remedies.append(remedy)
        windows.append(
            {
                "from_day": int(match.group(1)),
                "to_day": int(match.group(2)) if match.group(2) else None,
                "remedies": remedies,
            }
        )
    return windows


def windows_as_text(windows: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for window in windows:
        span = f"{window['from_day']}-{window['to_day'] if window.get('to_day') is not None else ''}"
        parts = [
            " ".join(str(p) for p in (r["kind"], r.get("max_amount"), r.get("currency")) if p)
            for r in window["remedies"]
        ]
        lines.append(f"{span}: {', '.join(parts)}")
    return "\n".join(lines)
