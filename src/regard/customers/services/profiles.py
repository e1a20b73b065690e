"""Profiles and their identifiers: create, change, attach (C1).

Each function is keyword-only, runs in one transaction, writes its timeline event
and its audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from regard.customers import hooks, normalise
from regard.customers.models import Customer, Identifier
from regard.customers.services.timeline import timeline_append
from regard.errors import Conflict, InvalidInput
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record
from regard.privacy.tombstone import ensure_not_tombstoned

Actor = User | AnonymousUser | None

PROFILE_FIELDS = (
    "preferred_name",
    "formality",
    "salutation",
    "given_name",
    "family_name",
    "date_of_birth",
    "street",
    "locality",
    "postcode",
    "region",
    "country",
    "language",
    "time_zone",
)
TEXT_LIMITS = {
    "preferred_name": 200,
    "salutation": 40,
    "given_name": 200,
    "family_name": 200,
    "street": 300,
    "locality": 200,
    "postcode": 20,
    "region": 200,
}
ADDRESS_FIELDS = frozenset({"street", "locality", "postcode", "region", "country"})


@dataclass(frozen=True)
class IdentifierInput:
    kind: str
    value: str


def field_label(name: str) -> str:
    return f"address.{name}" if name in ADDRESS_FIELDS else name


def clean_profile(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate profile fields; raise InvalidInput naming the first bad field (invariant 7)."""
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in PROFILE_FIELDS:
            raise InvalidInput(f"{name}: not a customer field.", field=name)
        label = field_label(name)
        if name == "date_of_birth":
            cleaned[name] = normalise.parse_date(value, field=label)
            continue
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InvalidInput(f"{label}: must be text.", field=label)
        if "\x00" in value:
            raise InvalidInput(f"{label}: must not contain NUL characters.", field=label)
        value = value.strip()
        if name == "formality":
            if value not in Customer.Formality.values:
                allowed = ", ".join(Customer.Formality.values)
                raise InvalidInput(f"formality: '{value}' is not one of {allowed}.", field=label)
        elif name == "language":
            value = normalise.validate_language(value or "en", field=label)
        elif name == "time_zone":
            value = normalise.validate_time_zone(value or "UTC", field=label)
        elif name == "country":
            value = normalise.validate_country(value, field=label)
        elif len(value) > TEXT_LIMITS[name]:
            raise InvalidInput(f"{label}: longer than {TEXT_LIMITS[name]} characters.", field=label)
        cleaned[name] = value
    return cleaned


def search_text_of(customer: Customer) -> str:
    return normalise.search_key(customer.preferred_name, customer.given_name, customer.family_name)


def _normalised_identifiers(
    identifiers: Iterable[IdentifierInput], *, field_prefix: str | None = "identifiers"
) -> list[tuple[IdentifierInput, str]]:
    """Normalise each identifier; errors name ``identifiers[i].value`` (or plain ``value``
    when ``field_prefix`` is None, as for a single identifier given as ``{kind, value}``)."""
    result: list[tuple[IdentifierInput, str]] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(identifiers):
        prefix = f"{field_prefix}[{index}]." if field_prefix else ""
        normalised = normalise.normalise_identifier(
            item.kind, item.value, field=f"{prefix}value", kind_field=f"{prefix}kind"
        )
        if (item.kind, normalised) in seen:
            continue
        seen.add((item.kind, normalised))
        result.append((item, normalised))
    return result


def ensure_identifiers_free(pairs: Sequence[tuple[IdentifierInput, str]], *, owner: Customer | None) -> None:
    for item, normalised in pairs:
        existing = (
            Identifier.objects.filter(kind=item.kind, value_normalised=normalised)
            .values_list("customer_id", flat=True)
            .first()
        )
        if existing is not None and (owner is None or existing != owner.pk):
            raise Conflict(
                f"Identifier {item.kind} '{normalised}' already belongs to customer {existing}.",
                field="identifiers",
                identifier={"kind": item.kind, "value": normalised},
                customer_id=existing,
            )


def ensure_not_erased(
    customer: Customer, *, field: str = "id", refused: str = "nothing can be added to it"
) -> None:
    """An erased profile is a shell the ledger points at; it takes no new personal data (Art. 17)."""
    if customer.erased_at is not None:
        raise Conflict(f"Customer {customer.pk} was erased (GDPR Art. 17); {refused}.", field=field)


def ensure_not_merged_away(customer: Customer) -> None:
    """A profile merged into another takes no new data: it would be hidden there (S20)."""
    ensure_not_erased(customer)
    if customer.merged_into_id is not None:
        raise Conflict(
            f"Customer {customer.pk} was merged into customer {customer.merged_into_id}; change that one.",
            field="id",
            customer_id=customer.merged_into_id,
        )


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    identifiers: Sequence[IdentifierInput] = (),
    source: str = "api",
    via: str = "api",
    now: datetime | None = None,
    erased_may_return: bool = False,
    **profile: Any,
) -> Customer:
    """A new profile. An identifier of an erased person is refused (409, Art. 17) unless
    ``erased_may_return``: support channels, where the person must still be able to ask;
    the outbox gate then keeps marketing from them until a fresh consent."""
    now = now or timezone.now()
    cleaned = clean_profile(profile)
    pairs = _normalised_identifiers(identifiers)
    if not erased_may_return:
        ensure_not_tombstoned([normalised for _, normalised in pairs])
    ensure_identifiers_free(pairs, owner=None)
    customer = Customer(**cleaned, source=source, created_at=now, updated_at=now)
    customer.search_text = search_text_of(customer)
    customer.save()
    try:
        with transaction.atomic():
            Identifier.objects.bulk_create(
                Identifier(
                    customer=customer,
                    kind=item.kind,
                    value_raw=item.value.strip()[:320],
                    value_normalised=normalised,
                    source=source,
                    first_seen_at=now,
                )
                for item, normalised in pairs
            )
    except IntegrityError:
        # Another transaction took the identifier between our check and our insert.
        ensure_identifiers_free(pairs, owner=customer)
        raise
    timeline_append(
        customer=customer,
        kind="customer.created",
        channel=source,
        summary=f"Profile created from {source}",
        occurred_at=now,
        subject=customer,
        data={"identifiers": [f"{i.kind}" for i, _ in pairs]},
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        via=via,
        now=now,
    )
    hooks.customer_changed(customer.pk)  # e.g. look for a likely duplicate (C1)
    return customer


@transaction.atomic
def customer_update(
    *,
    actor: Actor,
    customer: Customer,
    changes: Mapping[str, Any],
    via: str = "api",
    now: datetime | None = None,
) -> Customer:
    now = now or timezone.now()
    ensure_not_merged_away(customer)
    cleaned = clean_profile(changes)
    changed = [name for name, value in cleaned.items() if getattr(customer, name) != value]
    if not changed:
        return customer
    for name in changed:
        setattr(customer, name, cleaned[name])
    customer.search_text = search_text_of(customer)
    customer.updated_at = now
    customer.save(update_fields=[*changed, "search_text", "updated_at"])
    timeline_append(
        customer=customer,
        kind="customer.updated",
        summary="Profile updated: " + ", ".join(field_label(n) for n in changed),
        occurred_at=now,
        subject=customer,
        data={"fields": changed},
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        via=via,
        detail={"fields": changed},
        now=now,
    )
    return customer


@transaction.atomic
def identifier_add(
    *,
    actor: Actor,
    customer: Customer,
    kind: str,
    value: str,
    source: str = "api",
    via: str = "api",
    now: datetime | None = None,
    erased_may_return: bool = False,
) -> Identifier:
    """Attach an identifier; adding one the person already has changes nothing. An erased
    person's identifier is refused unless ``erased_may_return`` (as for ``customer_create``)."""
    now = now or timezone.now()
    ensure_not_merged_away(customer)
    [(item, normalised)] = _normalised_identifiers([IdentifierInput(kind, value)], field_prefix=None)
    if not erased_may_return:
        ensure_not_tombstoned([normalised], field="value")
    ensure_identifiers_free([(item, normalised)], owner=customer)
    existing = Identifier.objects.filter(kind=kind, value_normalised=normalised).first()
    if existing is not None:
        return existing
    identifier = Identifier.objects.create(
        customer=customer,
        kind=kind,
        value_raw=value.strip()[:320],
        value_normalised=normalised,
        source=source,
        first_seen_at=now,
    )
    timeline_append(
        customer=customer,
        kind="identifier.added",
        channel=source,
        summary=f"New {kind} identifier",
        occurred_at=now,
        subject=identifier,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="identifier",
        object_id=identifier.pk,
        customer_id=customer.pk,
        via=via,
        now=now,
    )
    hooks.customer_changed(customer.pk)
    return identifier
