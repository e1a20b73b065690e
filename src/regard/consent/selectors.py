"""Reads of consent, preferences and suppression. Current state is derived from the ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from regard.consent.models import ConsentEvent, MarketingOptOut, PreferenceChange, Suppression
from regard.customers.models import Customer
from regard.customers.selectors import customer_get
from regard.errors import InvalidInput
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.privacy.tombstone import tombstoned_sha256

ConsentKey = tuple[str, str]  # (purpose, channel)


def consent_current(customer_ids: Iterable[int]) -> dict[int, dict[ConsentKey, ConsentEvent]]:
    """The latest event per customer × purpose × channel: that is the consent in force."""
    current: dict[int, dict[ConsentKey, ConsentEvent]] = {}
    events = ConsentEvent.objects.filter(customer_id__in=list(customer_ids)).order_by("occurred_at", "id")
    for event in events:
        current.setdefault(event.customer_id, {})[(event.purpose, event.channel)] = event
    return current


def consent_in_force(customer_ids: Iterable[int] | Any) -> dict[int, dict[ConsentKey, bool]]:
    """``consent_current`` reduced to granted or not, read without building events (the gate's hot path).

    ``customer_ids`` may also be a subquery expression for ``customer_id__in``.
    """
    ids = customer_ids if hasattr(customer_ids, "resolve_expression") else list(customer_ids)
    current: dict[int, dict[ConsentKey, bool]] = {}
    rows = (
        ConsentEvent.objects.filter(customer_id__in=ids)
        .order_by("occurred_at", "id")
        .values_list("customer_id", "purpose", "channel", "action")
    )
    for customer_id, purpose, channel, action in rows:
        current.setdefault(customer_id, {})[(purpose, channel)] = action == ConsentEvent.Action.GRANTED
    return current


def consent_is_withdrawn(*, customer: Customer, purpose: str, channel: str) -> bool:
    """True when the consent in force for this purpose by this channel is a withdrawal
    (never asked is not withdrawn: an unsubscribe then still records one)."""
    latest = (
        ConsentEvent.objects.filter(customer=customer, purpose=purpose, channel=channel)
        .order_by("-occurred_at", "-id")
        .values_list("action", flat=True)
        .first()
    )
    return latest == ConsentEvent.Action.WITHDRAWN


def preferences_current(customer_ids: Iterable[int]) -> dict[int, PreferenceChange]:
    found: dict[int, PreferenceChange] = {}
    for change in PreferenceChange.objects.filter(customer_id__in=list(customer_ids)).order_by(
        "recorded_at", "id"
    ):
        found[change.customer_id] = change
    return found


def suppressed_hashes(hashes: Iterable[str]) -> dict[str, str]:
    """hash → reason, for those of ``hashes`` on the suppression list."""
    wanted = list(set(hashes))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        rows = Suppression.objects.filter(identifier_hash__in=wanted[start : start + 500])
        found.update(rows.values_list("identifier_hash", "reason"))
    return found


@dataclass
class ConsentOverview:
    customer: Customer
    state: list[ConsentEvent] = field(default_factory=list)
    history: list[ConsentEvent] = field(default_factory=list)


def _customer_for(actor: AnyUser, customer_id: int, via: str) -> Customer:
    return customer_get(
        actor=actor, customer_id=customer_id, capability=Capability.CONSENT_READ, audit_as="consent", via=via
    )


def consent_overview(*, actor: AnyUser, customer_id: int, via: str = "api") -> ConsentOverview:
    customer = _customer_for(actor, customer_id, via)
    history = list(ConsentEvent.objects.filter(customer=customer).order_by("-occurred_at", "-id"))
    state = sorted(
        consent_current([customer.pk]).get(customer.pk, {}).values(), key=lambda e: (e.purpose, e.channel)
    )
    return ConsentOverview(customer=customer, state=state, history=history)


def preferences_get(*, actor: AnyUser, customer_id: int, via: str = "api") -> PreferenceChange | None:
    customer = _customer_for(actor, customer_id, via)
    return preferences_current([customer.pk]).get(customer.pk)


def suppression_check(*, actor: AnyUser, hashes: list[str], purpose: str | None = None) -> list[str]:
    """Which of these SHA-256 hashes may not be sent marketing; partners see nothing else (S5).

    Suppressed addresses (bounces, complaints, erasure) for every purpose, and addresses whose
    owner withdrew marketing consent by email: for ``purpose``, or for any marketing purpose
    when none is named.
    """
    access.require(actor, Capability.SUPPRESSION_CHECK)
    for index, value in enumerate(hashes):
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value.lower()):
            raise InvalidInput(f"hashes[{index}]: not a SHA-256 hex digest.", field=f"hashes[{index}]")
    if purpose is not None and (
        purpose not in settings.REGARD_CONSENT_PURPOSES or purpose in settings.REGARD_CONSENT_FREE_PURPOSES
    ):
        raise InvalidInput(f"purpose: '{purpose[:40]}' is not a marketing purpose.", field="purpose")
    lowered = [h.lower() for h in hashes]
    found = set(suppressed_hashes(lowered))
    # Art. 17: an erased person is answered yes, from the keyed tombstone (privacy.tombstone).
    found |= tombstoned_sha256(set(lowered) - found)
    wanted = list(set(lowered) - found)
    for start in range(0, len(wanted), 500):
        opted_out = MarketingOptOut.objects.filter(identifier_hash__in=wanted[start : start + 500])
        if purpose is not None:
            opted_out = opted_out.filter(purpose=purpose)
        found.update(opted_out.values_list("identifier_hash", flat=True))
    return [h for h in dict.fromkeys(lowered) if h in found]


def consent_history_for_customers(
    customer_ids: Iterable[int],
) -> tuple[list[ConsentEvent], list[ConsentEvent]]:
    """(consent in force per purpose × channel, full history newest first) across a merge group, in one query.

    No access check here: the caller (the Customer 360 selector) checked and audits the read.
    """
    history = list(
        ConsentEvent.objects.filter(customer_id__in=list(customer_ids)).order_by("-occurred_at", "-id")
    )
    current: dict[ConsentKey, ConsentEvent] = {}
    for event in reversed(history):
        current[(event.purpose, event.channel)] = event
    return sorted(current.values(), key=lambda e: (e.purpose, e.channel)), history
