"""Erasure of a customer (GDPR Art. 17): personal data redacted or deleted in every app.

``customer_erase`` walks the ownership registry (``customers.ownership``): every model with a
foreign key to Customer is registered there by its app, with its erasure rule, so an app
added later cannot be forgotten. The profile row stays as an empty shell (``erased_at`` set)
because the append-only timeline and consent ledger keep their rows, redacted by their
designed path; what is left of the person is a tombstone of keyed hashes
(``privacy.tombstone``) that every way in checks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from regard.customers import normalise
from regard.customers.models import Customer, Identifier
from regard.customers.ownership import ErasureOf, OwnedRelation, erasure_relations
from regard.customers.selectors import customer_group_ids
from regard.customers.services import timeline_append
from regard.errors import Conflict, InvalidInput, NotFound
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record
from regard.privacy.tombstone import tombstone_write

REASON_MAX = 500
# What the profile row holds afterwards: every personal field blank.
PROFILE_ERASED: dict[str, Any] = {
    "preferred_name": "",
    "formality": Customer.Formality.NEUTRAL,
    "salutation": "",
    "given_name": "",
    "family_name": "",
    "date_of_birth": None,
    "street": "",
    "locality": "",
    "postcode": "",
    "region": "",
    "country": "",
    "language": "en",
    "time_zone": "UTC",
    "search_text": "",
}


@dataclass
class ErasureResult:
    customer_id: int
    erased_at: datetime
    profiles: list[int]
    tombstones: int
    # "<app.model>.<field>" (or the child model's label) → rows redacted or deleted.
    rows: dict[str, int] = field(default_factory=dict)


def _clean_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("reason: say why the person is erased (e.g. 'request by email').", field="reason")
    if "\x00" in reason:
        raise InvalidInput("reason: must not contain NUL characters.", field="reason")
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"reason: longer than {REASON_MAX} characters.", field="reason")
    return reason


def _personal_values(profiles: list[Customer], identifiers: list[tuple[str, str, str]]) -> set[str]:
    values = {raw.lower() for _, raw, _ in identifiers} | {value.lower() for _, _, value in identifiers}
    for profile in profiles:
        for name in ("preferred_name", "given_name", "family_name", "street"):
            text = getattr(profile, name).strip().lower()
            if len(text) >= 3:
                values.add(text)
    return {value for value in values if value}


def _addresses_written(group: list[int]) -> set[tuple[str, str]]:
    """Addresses the person wrote from or was sent to without them being identifiers."""
    from regard.outreach.models import OutboxMessage
    from regard.support.models import Message

    written = set(
        Message.objects.filter(conversation__customer_id__in=group, direction=Message.Direction.IN)
        .exclude(sender_address="")
        .values_list("sender_address", flat=True)
    )
    written |= set(
        OutboxMessage.objects.filter(customer_id__in=group)
        .exclude(to_address="")
        .values_list("to_address", flat=True)
    )
    found = set()
    for address in written:
        try:
            found.add(("email", normalise.normalise_email(address)))
        except InvalidInput:
            continue  # not an address we could ever match again
    return found


def _apply_children(
    children: tuple[ErasureOf, ...], parents: models.QuerySet[Any], counts: Counter[str]
) -> None:
    for child in children:
        rows = child.model._default_manager.filter(**{f"{child.via}__in": parents.values("pk")})
        _apply_children(child.children, rows, counts)
        if child.delete:
            counts[child.model._meta.label_lower] += rows.delete()[0]
        elif child.redact:
            counts[child.model._meta.label_lower] += rows.update(**child.redact)


def _apply(relation: OwnedRelation, group: list[int], now: datetime, counts: Counter[str]) -> None:
    rule = relation.erase
    if rule is None:
        # tests/customers/test_ownership_registry.py keeps this from happening; never half an erasure.
        raise TypeError(f"{relation.key} has no erasure rule (customers.ownership)")
    if rule.keep:
        return
    rows = relation.model._default_manager.filter(**{f"{relation.field_name}__in": group})
    _apply_children(rule.children, rows, counts)
    if rule.custom is not None:
        rule.custom(rows, now)
    if rule.append_only:
        counts[relation.key] += rows.redact(now=now)  # type: ignore[attr-defined]
    if rule.delete:
        counts[relation.key] += rows.delete()[0]
    elif rule.redact:
        counts[relation.key] += rows.update(**rule.redact)


@transaction.atomic
def customer_erase(
    *, actor: AnyUser, customer_id: int, reason: object, via: str = "api", now: datetime | None = None
) -> ErasureResult:
    """Erase the person and every profile merged into them (Art. 17); nothing changes on bad input."""
    access.require(actor, Capability.CUSTOMER_ERASE)
    now = now or timezone.now()
    clean = _clean_reason(reason)
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"No customer with id {customer_id}.", field="id")
    if customer.erased_at is not None:
        raise Conflict(f"Customer {customer.pk} was already erased.", field="id")
    if customer.merged_into_id is not None:
        raise Conflict(
            f"Customer {customer.pk} was merged into customer {customer.merged_into_id}; erase that one.",
            field="id",
            customer_id=customer.merged_into_id,
        )
    group = customer_group_ids(customer)
    profiles = list(Customer.objects.select_for_update().filter(pk__in=group))
    identifiers = list(
        Identifier.objects.filter(customer_id__in=group).values_list("kind", "value_raw", "value_normalised")
    )
    lowered = clean.lower()
    if any(value in lowered for value in _personal_values(profiles, identifiers)):
        # The reason is kept in the audit log, which outlives the erasure.
        raise InvalidInput(
            "reason: must not contain the person's name or identifiers (it is kept in the audit log).",
            field="reason",
        )
    remembered = {(kind, value) for kind, _, value in identifiers} | _addresses_written(group)

    counts: Counter[str] = Counter()
    for relation in erasure_relations():
        _apply(relation, group, now, counts)
    from regard.consent.models import MarketingOptOut

    # Partners' opt-out answers are keyed by a bare hash and the customer id; the tombstone answers now.
    counts["consent.marketingoptout"] += MarketingOptOut.objects.filter(customer_id__in=group).delete()[0]
    Customer.objects.filter(pk__in=group).update(**PROFILE_ERASED, erased_at=now, updated_at=now)
    tombstones = tombstone_write(identifiers=remembered, now=now)
    timeline_append(
        customer=customer,
        kind="customer.erased",
        summary="Personal data erased (GDPR Art. 17)",
        occurred_at=now,
        data={"profiles": len(group)},
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.ERASE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        via=via,
        now=now,
        # Counts and ids only: the audit row keeps no personal data.
        detail={"reason": clean, "profiles": group, "tombstones": tombstones, "rows": dict(counts)},
    )
    return ErasureResult(
        customer_id=customer.pk, erased_at=now, profiles=group, tombstones=tombstones, rows=dict(counts)
    )
