"""Reading remedy policies and what a customer is entitled to for what they bought (C5, S10)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from regard.customers.models import Customer, Order, OrderLine
from regard.customers.selectors import customer_current, customer_get, customer_group_ids
from regard.errors import found
from regard.policies.evaluation import Entitlement, PolicyTerms, Remedy, StatutoryTerms, Window, evaluate
from regard.policies.models import RemedyGrant, RemedyPolicy, RemedyPolicyVersion, StatutoryGuarantee
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record_reads


@dataclass(frozen=True)
class LineEntitlement:
    order: Order
    line: OrderLine
    policy: RemedyPolicy | None
    version: RemedyPolicyVersion | None
    entitlement: Entitlement


def terms_of(version: RemedyPolicyVersion) -> PolicyTerms:
    windows = tuple(
        Window(
            from_day=w["from_day"],
            to_day=w.get("to_day"),
            remedies=tuple(
                Remedy(
                    kind=r["kind"],
                    max_amount=Decimal(r["max_amount"]) if r.get("max_amount") is not None else None,
                    currency=r.get("currency", ""),
                )
                for r in w["remedies"]
            ),
        )
        for w in version.windows
    )
    return PolicyTerms(
        name=version.policy.name,
        category=version.policy.category,
        version=version.number,
        windows=windows,
        wording=version.wording,
        counted_from=version.counted_from,
    )


def statutory_terms(guarantee: StatutoryGuarantee | None) -> StatutoryTerms | None:
    if guarantee is None:
        return None
    return StatutoryTerms(
        country=guarantee.country,
        label=guarantee.label,
        months=guarantee.months,
        remedies=tuple(guarantee.remedies),
        wording=guarantee.wording,
    )


def _pick(policies: list[RemedyPolicy], *, sku: str, category: str, country: str) -> RemedyPolicy | None:
    """The most specific active policy: SKU and country, SKU, category and country, category."""
    ranked = [
        (
            p.sku == sku and p.country == country,
            p.sku == sku and not p.country,
            p.category == category and p.country == country and not p.sku,
            p.category == category and not p.sku and not p.country,
        )
        for p in policies
    ]
    for rank in range(4):
        for policy, flags in zip(policies, ranked, strict=True):
            if flags[rank]:
                return policy
    return None


def _latest_versions(policies: list[RemedyPolicy]) -> dict[int, RemedyPolicyVersion]:
    latest: dict[int, RemedyPolicyVersion] = {}
    for version in (
        RemedyPolicyVersion.objects.filter(policy__in=policies).select_related("policy").order_by("number")
    ):
        latest[version.policy_id] = version
    return latest


def entitlements_for_lines(
    pairs: list[tuple[Order, OrderLine]], *, customer: Customer, now: datetime | None = None
) -> list[LineEntitlement]:
    """Evaluate every line in three queries, whatever the number of lines."""
    now = now or timezone.now()
    categories = {line.product.category.lower() for _, line in pairs if line.product.category}
    skus = {line.product.sku for _, line in pairs}
    policies = list(
        RemedyPolicy.objects.filter(is_active=True, category__in=categories | {""})
        | RemedyPolicy.objects.filter(is_active=True, sku__in=skus)
    )
    versions = _latest_versions(policies)
    country = (customer.country or "").upper()
    statutory = (
        statutory_terms(StatutoryGuarantee.objects.filter(country=country).first()) if country else None
    )
    results = []
    for order, line in pairs:
        policy = _pick(
            policies, sku=line.product.sku, category=line.product.category.lower(), country=country
        )
        version = versions.get(policy.pk) if policy else None
        results.append(
            LineEntitlement(
                order=order,
                line=line,
                policy=policy,
                version=version,
                entitlement=evaluate(
                    product=line.product.name,
                    category=line.product.category,
                    terms=terms_of(version) if version else None,
                    statutory=statutory,
                    purchased_at=order.purchased_at,
                    delivered_at=order.delivered_at,
                    time_zone=customer.time_zone or "UTC",
                    now=now,
                    language=customer.language or "en",
                ),
            )
        )
    return results


def _group_lines(group: list[int]) -> list[tuple[Order, OrderLine]]:
    orders = Order.objects.filter(customer_id__in=group).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product"))
    )[:50]
    return [(order, line) for order in orders for line in order.lines.all()]


def line_entitlement(line: OrderLine, *, customer: Customer, now: datetime | None = None) -> LineEntitlement:
    return entitlements_for_lines([(line.order, line)], customer=customer, now=now)[0]


def customer_entitlements(
    *, actor: AnyUser, customer_id: int, via: str = "api", now: datetime | None = None
) -> tuple[Customer, list[LineEntitlement]]:
    # Audited below as the survivor's entitlements.
    customer = customer_current(customer_get(actor=actor, customer_id=customer_id, audit_as=None))
    group = customer_group_ids(customer)
    audit_record_reads(actor=actor, customer_ids=[customer.pk], object_type="entitlements", via=via)
    return customer, entitlements_for_lines(_group_lines(group), customer=customer, now=now)


def order_entitlements(
    *, actor: AnyUser, order_id: int, via: str = "api", now: datetime | None = None
) -> tuple[Order, list[LineEntitlement]]:
    access.require(actor, Capability.CUSTOMER_READ)
    order = found(
        Order.objects.select_related("customer").filter(pk=order_id).first(), f"No order with id {order_id}."
    )
    customer = customer_current(order.customer)
    audit_record_reads(actor=actor, customer_ids=[order.customer_id], object_type="entitlements", via=via)
    pairs = [(order, line) for line in order.lines.select_related("product")]
    return order, entitlements_for_lines(pairs, customer=customer, now=now)


def _words(text: str) -> str:
    return re.sub(r"[^0-9a-zäöüß]+", " ", text.lower())


def line_the_conversation_is_about(texts: list[str], items: list[LineEntitlement]) -> LineEntitlement | None:
    """The order line named in the conversation (order number, SKU or product name), else the newest (S10)."""
    if not items:
        return None
    joined = " ".join(texts)
    compact = re.sub(r"[^0-9A-Z]", "", joined.upper())
    for item in items:
        if re.sub(r"[^0-9A-Z]", "", item.order.order_number.upper()) in compact:
            return item
    words = f" {_words(joined)} "
    for item in items:
        if (
            item.line.product.sku.lower() in joined.lower()
            or f" {_words(item.line.product.name).strip()} " in words
        ):
            return item
    for item in items:
        name_words = [w for w in _words(item.line.product.name).split() if len(w) > 3]
        if name_words and any(f" {w} " in words for w in name_words):
            return item
    return items[0]


def grants_for_customer(*, actor: AnyUser, customer_id: int, via: str = "api") -> list[RemedyGrant]:
    customer = customer_get(actor=actor, customer_id=customer_id, audit_as="remedy_grants", via=via)
    group = customer_group_ids(customer_current(customer))
    return list(
        RemedyGrant.objects.filter(customer_id__in=group)
        .select_related("order_line__product", "policy_version__policy", "granted_by", "promise")
        .order_by("-granted_at")
    )


def policy_list() -> list[RemedyPolicy]:
    return list(RemedyPolicy.objects.prefetch_related("versions").order_by("category", "sku", "country"))


def policy_get(*, actor: AnyUser, policy_id: int) -> RemedyPolicy:
    access.require(actor, Capability.CONVERSATION_READ)
    return found(RemedyPolicy.objects.filter(pk=policy_id).first(), f"No remedy policy with id {policy_id}.")


def latest_version(policy: RemedyPolicy) -> RemedyPolicyVersion:
    version = policy.versions.order_by("-number").select_related("policy").first()
    assert version is not None  # a policy is created with its first version
    return version


def sample_lines(category: str, *, limit: int = 10) -> list[tuple[Order, OrderLine]]:
    lines = (
        OrderLine.objects.filter(product__category__iexact=category)
        .select_related("order__customer", "product")
        .order_by("-order__purchased_at")[:limit]
    )
    return [(line.order, line) for line in lines]


def preview_changes(
    *,
    policy: RemedyPolicy,
    windows: list[dict[str, Any]],
    wording: dict[str, str],
    counted_from: str = "",
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Today's evaluation of up to ten real order lines under the current terms and under ``windows``."""
    now = now or timezone.now()
    current = latest_version(policy)
    proposed = RemedyPolicyVersion(
        policy=policy,
        number=current.number + 1,
        windows=windows,
        wording=wording,
        counted_from=counted_from or current.counted_from,
    )
    rows = []
    for order, line in sample_lines(policy.category):
        customer = order.customer
        statutory = statutory_terms(
            StatutoryGuarantee.objects.filter(country=(customer.country or "").upper()).first()
        )
        common: dict[str, Any] = {
            "product": line.product.name,
            "category": line.product.category,
            "statutory": statutory,
            "purchased_at": order.purchased_at,
            "delivered_at": order.delivered_at,
            "time_zone": customer.time_zone or "UTC",
            "now": now,
        }
        before = evaluate(terms=terms_of(current), **common)
        after = evaluate(terms=terms_of(proposed), **common)
        rows.append(
            {
                "order_number": order.order_number,
                "days": after.window_day,
                "before": ", ".join(r.describe() for r in before.remedies) or "nothing",
                "after": ", ".join(r.describe() for r in after.remedies) or "nothing",
                "changed": before.remedies != after.remedies,
            }
        )
    return rows
