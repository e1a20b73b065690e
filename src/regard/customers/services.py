"""Every write to customers, identifiers, orders, the timeline and merges (C1).

Each function is keyword-only, runs in one transaction, writes its timeline event
and its audit entry. Views, the API, the CLI, imports and later apps call these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from regard.customers import hooks, normalise
from regard.customers.models import (
    Customer,
    Identifier,
    MergeRecord,
    Order,
    OrderLine,
    Product,
    TimelineEvent,
)
from regard.customers.ownership import owned_relation, owned_relations
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


@dataclass(frozen=True)
class OrderLineInput:
    sku: str
    quantity: int
    unit_price: Decimal
    product_name: str = ""
    category: str = ""


def _field_label(name: str) -> str:
    return f"address.{name}" if name in ADDRESS_FIELDS else name


def clean_profile(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate profile fields; raise InvalidInput naming the first bad field (invariant 7)."""
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in PROFILE_FIELDS:
            raise InvalidInput(f"{name}: not a customer field.", field=name)
        label = _field_label(name)
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


def _search_text(customer: Customer) -> str:
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


def _ensure_identifiers_free(pairs: Sequence[tuple[IdentifierInput, str]], *, owner: Customer | None) -> None:
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


def _ensure_not_erased(
    customer: Customer, *, field: str = "id", refused: str = "nothing can be added to it"
) -> None:
    """An erased profile is a shell the ledger points at; it takes no new personal data (Art. 17)."""
    if customer.erased_at is not None:
        raise Conflict(f"Customer {customer.pk} was erased (GDPR Art. 17); {refused}.", field=field)


def _ensure_not_merged_away(customer: Customer) -> None:
    """A profile merged into another takes no new data: it would be hidden there (S20)."""
    _ensure_not_erased(customer)
    if customer.merged_into_id is not None:
        raise Conflict(
            f"Customer {customer.pk} was merged into customer {customer.merged_into_id}; change that one.",
            field="id",
            customer_id=customer.merged_into_id,
        )


def timeline_append(
    *,
    customer: Customer,
    kind: str,
    summary: str,
    channel: str = "",
    occurred_at: datetime | None = None,
    subject: Any = None,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append one event to the person's timeline (invariant 4: never updated afterwards)."""
    now = timezone.now()
    subject_type = subject_id = ""
    if subject is not None:
        subject_type = subject._meta.label_lower
        subject_id = str(subject.pk)
    return TimelineEvent.objects.create(
        customer=customer,
        kind=kind,
        channel=channel,
        summary=summary[:500],
        occurred_at=occurred_at or now,
        recorded_at=now,
        subject_type=subject_type,
        subject_id=subject_id,
        data=data or {},
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
    _ensure_identifiers_free(pairs, owner=None)
    customer = Customer(**cleaned, source=source, created_at=now, updated_at=now)
    customer.search_text = _search_text(customer)
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
        _ensure_identifiers_free(pairs, owner=customer)
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
    _ensure_not_merged_away(customer)
    cleaned = clean_profile(changes)
    changed = [name for name, value in cleaned.items() if getattr(customer, name) != value]
    if not changed:
        return customer
    for name in changed:
        setattr(customer, name, cleaned[name])
    customer.search_text = _search_text(customer)
    customer.updated_at = now
    customer.save(update_fields=[*changed, "search_text", "updated_at"])
    timeline_append(
        customer=customer,
        kind="customer.updated",
        summary="Profile updated: " + ", ".join(_field_label(n) for n in changed),
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
    _ensure_not_merged_away(customer)
    [(item, normalised)] = _normalised_identifiers([IdentifierInput(kind, value)], field_prefix=None)
    if not erased_may_return:
        ensure_not_tombstoned([normalised], field="value")
    _ensure_identifiers_free([(item, normalised)], owner=customer)
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


def _clean_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidInput(f"currency: '{currency}' is not an ISO 4217 code (e.g. EUR).", field="currency")
    return code


# OrderLine.unit_price is DecimalField(max_digits=12, decimal_places=2).
MAX_UNIT_PRICE = Decimal("9999999999.99")


def order_clean(
    *,
    order_number: str,
    purchased_at: datetime,
    currency: str,
    lines: Sequence[OrderLineInput],
    now: datetime,
) -> tuple[str, str]:
    """Validate an order (the API and the CSV import share this); return (order number, currency)."""
    number = (order_number or "").strip()
    if not number or len(number) > 64:
        raise InvalidInput("order_number: must be 1–64 characters.", field="order_number")
    if timezone.is_naive(purchased_at):
        raise InvalidInput("purchased_at: must include a time zone offset.", field="purchased_at")
    if purchased_at > now + timedelta(days=1):
        raise InvalidInput("purchased_at: lies in the future.", field="purchased_at")
    code = _clean_currency(currency)
    if not lines:
        raise InvalidInput("lines: an order needs at least one line.", field="lines")
    for index, line in enumerate(lines):
        if not line.sku.strip() or len(line.sku.strip()) > 64:
            raise InvalidInput(f"lines[{index}].sku: must be 1–64 characters.", field=f"lines[{index}].sku")
        if line.quantity < 1:
            raise InvalidInput(
                f"lines[{index}].quantity: must be at least 1.", field=f"lines[{index}].quantity"
            )
        if line.unit_price < 0:
            raise InvalidInput(
                f"lines[{index}].unit_price: must not be negative.",
                field=f"lines[{index}].unit_price",
            )
        if line.unit_price > MAX_UNIT_PRICE or line.unit_price != line.unit_price.quantize(Decimal("0.01")):
            raise InvalidInput(
                f"lines[{index}].unit_price: at most {MAX_UNIT_PRICE} with two decimal places.",
                field=f"lines[{index}].unit_price",
            )
    return number, code


@transaction.atomic
def order_record(
    *,
    actor: Actor,
    customer: Customer,
    order_number: str,
    purchased_at: datetime,
    currency: str,
    lines: Sequence[OrderLineInput],
    delivered_at: datetime | None = None,
    source: str = "api",
    via: str = "api",
    now: datetime | None = None,
) -> Order:
    now = now or timezone.now()
    _ensure_not_merged_away(customer)
    number, code = order_clean(
        order_number=order_number, purchased_at=purchased_at, currency=currency, lines=lines, now=now
    )
    if delivered_at is not None:
        delivery_clean(delivered_at=delivered_at, purchased_at=purchased_at, now=now)
    existing = Order.objects.filter(order_number=number).values_list("customer_id", flat=True).first()
    if existing is not None:
        raise Conflict(
            f"Order '{number}' is already recorded for customer {existing}.",
            field="order_number",
            customer_id=existing,
        )
    order_identifier = normalise.normalise_identifier("order", number, field="order_number")
    _ensure_identifiers_free([(IdentifierInput("order", number), order_identifier)], owner=customer)

    order = Order.objects.create(
        customer=customer,
        order_number=number,
        purchased_at=purchased_at,
        delivered_at=delivered_at,
        currency=code,
        source=source,
        recorded_at=now,
    )
    products = _products_for(lines)
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=products[line.sku.strip()],
            quantity=line.quantity,
            unit_price=line.unit_price,
        )
        for line in lines
    )
    # S20: the order number becomes an identifier, so quoting it on any channel finds the person.
    Identifier.objects.get_or_create(
        kind="order",
        value_normalised=order_identifier,
        defaults={
            "customer": customer,
            "value_raw": number,
            "source": source,
            "first_seen_at": now,
        },
    )
    names = ", ".join(products[line.sku.strip()].name for line in lines[:3])
    timeline_append(
        customer=customer,
        kind="order.recorded",
        channel=source,
        summary=f"Order {number}: {names}"[:500],
        occurred_at=purchased_at,
        subject=order,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        object_type="order",
        object_id=order.pk,
        customer_id=customer.pk,
        via=via,
        now=now,
    )
    return order


def delivery_clean(*, delivered_at: datetime, purchased_at: datetime, now: datetime) -> None:
    if timezone.is_naive(delivered_at):
        raise InvalidInput("delivered_at: must include a time zone offset.", field="delivered_at")
    if delivered_at < purchased_at:
        raise InvalidInput("delivered_at: lies before the purchase.", field="delivered_at")
    if delivered_at > now + timedelta(days=1):
        raise InvalidInput("delivered_at: lies in the future.", field="delivered_at")


@transaction.atomic
def order_delivery_record(
    *, actor: Actor, order: Order, delivered_at: datetime, via: str = "api", now: datetime | None = None
) -> Order:
    """The day the goods arrived: a policy counted from delivery starts its windows here (C5)."""
    now = now or timezone.now()
    order = Order.objects.select_for_update().get(pk=order.pk)
    delivery_clean(delivered_at=delivered_at, purchased_at=order.purchased_at, now=now)
    before = order.delivered_at
    order.delivered_at = delivered_at
    order.save(update_fields=["delivered_at"])
    timeline_append(
        customer=order.customer,
        kind="order.delivered",
        channel=order.source,
        summary=f"Order {order.order_number} delivered",
        occurred_at=delivered_at,
        subject=order,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="order",
        object_id=order.pk,
        customer_id=order.customer_id,
        via=via,
        detail={"delivered_at": [before.isoformat() if before else None, delivered_at.isoformat()]},
        now=now,
    )
    return order


def _products_for(lines: Sequence[OrderLineInput]) -> dict[str, Product]:
    skus = {line.sku.strip() for line in lines}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    for line in lines:
        sku = line.sku.strip()
        if sku not in products:
            products[sku] = Product.objects.create(
                sku=sku, name=(line.product_name or sku)[:300], category=line.category[:100]
            )
    return products


@transaction.atomic
def customer_merge(
    *,
    survivor: Customer,
    absorbed: Customer,
    actor: Actor,
    via: str = "api",
    now: datetime | None = None,
) -> MergeRecord:
    """Fold ``absorbed`` into ``survivor``; everything it owned moves, nothing is lost (invariant 5)."""
    now = now or timezone.now()
    survivor = Customer.objects.select_for_update().get(pk=survivor.pk)
    absorbed = Customer.objects.select_for_update().get(pk=absorbed.pk)
    if survivor.pk == absorbed.pk:
        raise InvalidInput("absorbed_id: a customer cannot be merged into itself.", field="absorbed_id")
    for label, party in (("survivor", survivor), ("absorbed_id", absorbed)):
        # Art. 17: an erased profile is never merged with; its rows would carry the person back.
        _ensure_not_erased(party, field=label, refused="it cannot be merged")
        if party.merged_into_id is not None:
            raise Conflict(
                f"Customer {party.pk} was already merged into customer {party.merged_into_id}.",
                field=label,
                customer_id=party.merged_into_id,
            )

    moved: dict[str, list[Any]] = {}
    for relation in owned_relations():
        if relation.before_merge is not None:
            relation.before_merge(survivor.pk, absorbed.pk, now)
        rows = relation.model._default_manager.filter(**{relation.field_name: absorbed})
        keys = list(rows.values_list("pk", flat=True))
        if keys:
            relation.model._default_manager.filter(pk__in=keys).update(**{relation.field_name: survivor})
            moved[relation.key] = keys

    filled: dict[str, list[Any]] = {}
    for name in PROFILE_FIELDS:
        current, offered = getattr(survivor, name), getattr(absorbed, name)
        if current in ("", None) and offered not in ("", None):
            setattr(survivor, name, offered)
            filled[name] = [_json_value(current), _json_value(offered)]
    if filled:
        survivor.search_text = _search_text(survivor)
        survivor.updated_at = now
        survivor.save(update_fields=[*filled, "search_text", "updated_at"])
    absorbed.merged_into = survivor
    absorbed.updated_at = now
    absorbed.save(update_fields=["merged_into", "updated_at"])

    actor_user = actor if actor is not None and actor.is_authenticated else None
    merge = MergeRecord.objects.create(
        survivor=survivor,
        absorbed=absorbed,
        actor=actor_user,
        merged_at=now,
        moved=moved,
        survivor_fields_filled=filled,
    )
    for party, other, role in ((survivor, absorbed, "survivor"), (absorbed, survivor, "absorbed")):
        timeline_append(
            customer=party,
            kind="customer.merged",
            occurred_at=now,
            subject=merge,
            summary=f"Profiles {absorbed.pk} merged into {survivor.pk}",
            data={"other": other.pk, "role": role},
        )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.MERGE,
        object_type="merge",
        object_id=merge.pk,
        customer_id=survivor.pk,
        via=via,
        now=now,
        detail={"absorbed": absorbed.pk, "moved": {k: len(v) for k, v in moved.items()}},
    )
    return merge


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _field_value(name: str, value: Any) -> Any:
    if name == "date_of_birth" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


@transaction.atomic
def merge_undo(
    *, merge: MergeRecord, actor: Actor, via: str = "api", now: datetime | None = None
) -> MergeRecord:
    """Put both profiles back exactly as the merge found them (invariant 5)."""
    now = now or timezone.now()
    merge = MergeRecord.objects.select_for_update().get(pk=merge.pk)
    if merge.is_undone:
        raise Conflict(f"Merge {merge.pk} was already undone.", field="merge")
    survivor = Customer.objects.select_for_update().get(pk=merge.survivor_id)
    absorbed = Customer.objects.select_for_update().get(pk=merge.absorbed_id)
    for party in (survivor, absorbed):
        # Art. 17: undoing would bring back what the merge record held of the person.
        _ensure_not_erased(party, field="merge", refused="a merge with it cannot be undone")
    if survivor.merged_into_id is not None:
        # Undo runs newest first: the later merge moved these rows on again.
        later = (
            MergeRecord.objects.filter(absorbed=survivor, undone_at__isnull=True)
            .values_list("pk", flat=True)
            .first()
        )
        raise Conflict(
            f"Customer {survivor.pk} was since merged into customer {survivor.merged_into_id}; "
            f"undo merge {later} first.",
            field="merge",
            customer_id=survivor.merged_into_id,
            merge_id=later,
        )

    for key, keys in merge.moved.items():
        relation = owned_relation(key)
        if relation is None:
            raise Conflict(
                f"Merge {merge.pk} moved rows of '{key}', which is no longer installed.",
                field="merge",
            )
        relation.model._default_manager.filter(pk__in=keys, **{relation.field_name: survivor}).update(
            **{relation.field_name: absorbed}
        )
        if relation.after_undo is not None:
            relation.after_undo(survivor.pk, absorbed.pk, keys, merge.merged_at)

    restored = []
    for name, (before, after) in merge.survivor_fields_filled.items():
        # Only what the merge itself filled in, and only if nobody changed it since.
        if _json_value(getattr(survivor, name)) == after:
            setattr(survivor, name, _field_value(name, before))
            restored.append(name)
    if restored:
        survivor.search_text = _search_text(survivor)
        survivor.updated_at = now
        survivor.save(update_fields=[*restored, "search_text", "updated_at"])
    absorbed.merged_into = None
    absorbed.updated_at = now
    absorbed.save(update_fields=["merged_into", "updated_at"])

    merge.undone_at = now
    merge.undone_by = actor if actor is not None and actor.is_authenticated else None
    merge.save(update_fields=["undone_at", "undone_by"])
    for party in (survivor, absorbed):
        timeline_append(
            customer=party,
            kind="customer.unmerged",
            occurred_at=now,
            subject=merge,
            summary=f"Merge of {absorbed.pk} into {survivor.pk} undone",
        )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UNMERGE,
        object_type="merge",
        object_id=merge.pk,
        customer_id=survivor.pk,
        via=via,
        now=now,
        detail={"absorbed": absorbed.pk},
    )
    return merge
