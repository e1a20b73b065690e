"""Every non-trivial read of customers (C1). Reads of personal data take the actor and are audited."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from regard.customers import normalise, search
from regard.customers.models import (
    Customer,
    Identifier,
    MergeRecord,
    Order,
    OrderLine,
    TimelineEvent,
)
from regard.customers.panels import Panel, customer_panels
from regard.errors import InvalidInput, NotFound, RegardError, found
from regard.inputs import is_whole_number
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record_reads


def customer_resolve(*, kind: str, value: str) -> Customer | None:
    """The customer behind an identifier, by one indexed lookup of its normalised form (S20)."""
    normalised = normalise.normalise_identifier(kind, value)
    identifier = (
        Identifier.objects.select_related("customer").filter(kind=kind, value_normalised=normalised).first()
    )
    return identifier.customer if identifier else None


def customer_resolve_for(*, actor: AnyUser, kind: str, value: str, via: str = "api") -> Customer:
    """``customer_resolve`` for a reader: access-checked, audited, NotFound when nobody has it."""
    access.require(actor, Capability.CUSTOMER_READ)
    customer = customer_resolve(kind=kind, value=value)
    if customer is None:
        raise NotFound(f"No customer has {kind} '{value}'.", field="value")
    audit_record_reads(actor=actor, customer_ids=[customer.pk], object_type="customer", via=via)
    return customer


def no_customer(customer_id: int, *, field: str) -> NotFound:
    return NotFound(f"{field}: no customer with id {customer_id}.", field=field)


def customer_get(
    *,
    actor: AnyUser,
    customer_id: int,
    capability: Capability = Capability.CUSTOMER_READ,
    audit_as: str | None = "customer",
    field: str = "id",
    via: str = "api",
    detail: dict[str, object] | None = None,
) -> Customer:
    """The one lookup of a customer by id, for every page, route and selector.

    ``capability`` is what the caller is about to do with the customer (read the profile,
    record consent, send a message); NotFound names ``field`` as the request spelled it. The
    read is audited as ``audit_as``, or not at all (None) where the write that follows
    audits itself.
    """
    access.require(actor, capability)
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise no_customer(customer_id, field=field)
    if audit_as is not None:
        audit_record_reads(
            actor=actor, customer_ids=[customer.pk], object_type=audit_as, via=via, detail=detail
        )
    return customer


@dataclass(frozen=True)
class CustomerSearchPage:
    customers: list[Customer]
    next_offset: int | None
    # Customer id → what the query matched, in words ("phone +49 151 23456789", "name").
    matched: dict[int, str] = field(default_factory=dict)


def customer_search(
    *, actor: AnyUser, query: str, limit: int = 50, offset: int = 0, via: str = "api"
) -> CustomerSearchPage:
    """Customers whose name has every word of the query, or who own an identifier it may mean
    (the forms people type are in `customers.search`)."""
    access.require(actor, Capability.CUSTOMER_READ)
    if not 1 <= limit <= 200:
        raise InvalidInput("limit: must be between 1 and 200.", field="limit")
    if offset < 0:
        raise InvalidInput("offset: must not be negative.", field="offset")
    query = query.strip()
    customers = Customer.objects.filter(merged_into__isnull=True)
    by_identifier: dict[int, str] = {}
    if query:
        by_identifier = _identifier_matches(query)
        matches = Q()
        for spellings in search.name_variants(query):
            word = Q()
            for spelling in spellings:
                word |= Q(search_text__contains=spelling)
            matches &= word
        if not matches:
            matches = Q(pk__in=[])
        if by_identifier:
            matches |= Q(pk__in=by_identifier)
        if is_whole_number(query):
            matches |= Q(pk=int(query))
        customers = customers.filter(matches)
    found = list(customers.order_by("search_text", "id")[offset : offset + limit + 1])
    page = found[:limit]
    audit_record_reads(
        actor=actor,
        customer_ids=[c.pk for c in page],
        object_type="customer",
        via=via,
        detail={"search": True},
    )
    matched = {
        c.pk: by_identifier.get(c.pk) or ("id" if is_whole_number(query) and c.pk == int(query) else "name")
        for c in page
    }
    return CustomerSearchPage(
        customers=page, next_offset=offset + limit if len(found) > limit else None, matched=matched
    )


_IDENTIFIER_MATCHES_MAX = 50


def _identifier_matches(query: str) -> dict[int, str]:
    """Owners of an identifier the query may mean, each with the identifier in words."""
    condition = Q()
    for kind in Identifier.Kind.values:
        if kind == Identifier.Kind.PHONE:
            continue  # read in every country below, not only the default region
        try:
            condition |= Q(kind=kind, value_normalised=normalise.normalise_identifier(kind, query))
        except RegardError:
            continue
    for phone in search.phone_candidates(query):
        number = Q(kind=Identifier.Kind.PHONE, value_normalised=phone.e164)
        condition |= number & Q(customer__country__in=phone.countries) if phone.countries else number
    order = search.order_candidate(query)
    if order is not None:
        condition |= Q(kind=Identifier.Kind.ORDER, value_normalised__in=order.exact)
        if order.number_suffix:
            condition |= Q(kind=Identifier.Kind.ORDER, value_normalised__endswith=order.number_suffix)
    if not condition:
        return {}
    rows = Identifier.objects.filter(condition).values_list(
        "customer_id", "kind", "value_raw", "value_normalised"
    )
    matches: dict[int, str] = {}
    for customer_id, kind, raw, value in rows[:_IDENTIFIER_MATCHES_MAX]:
        suffix = order.number_suffix if order is not None and kind == Identifier.Kind.ORDER else None
        if suffix and value != suffix and value[-len(suffix) - 1].isdigit():
            continue  # "10002" is R-10002's number, not the tail of R-110002
        matches.setdefault(customer_id, f"{Identifier.Kind(kind).label.lower()} {raw}")
    return matches


def customer_current(customer: Customer) -> Customer:
    """The profile that holds this person's data now: the survivor at the end of any merge chain."""
    while customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def customer_by_ref(
    *,
    actor: AnyUser,
    id: int | None,
    kind: str | None,
    value: str | None,
    capability: Capability,
    field: str = "customer",
) -> Customer:
    """The customer a request body names as ``{"id": …}`` or ``{"kind": …, "value": …}`` (orders,
    events), now: the survivor of any merge. Errors name the field inside ``field``. Not audited:
    the write the body asks for audits itself."""
    if id is not None:
        customer = customer_get(
            actor=actor, customer_id=id, capability=capability, audit_as=None, field=f"{field}.id"
        )
        return customer_current(customer)
    access.require(actor, capability)
    if kind and value:
        try:
            resolved = customer_resolve(kind=kind, value=value)
        except InvalidInput as error:
            # The identifier sits inside the body's customer object; say so.
            inner = f"{field}.{error.field or 'value'}"
            raise InvalidInput(f"{inner}: {error.message.split(': ', 1)[-1]}", field=inner) from None
        if resolved is None:
            raise NotFound(f"{field}: no customer has {kind} '{value}'.", field=f"{field}.value")
        return customer_current(resolved)
    raise InvalidInput(f"{field}: give either id or kind and value.", field=field)


def customer_for_link(customer_id: int) -> Customer | None:
    """The person a signed link or a List-Unsubscribe mail names, now (the survivor of any
    merge), or None when nobody has that id. No actor and no audit: the signed token is the
    authority on the public pages, and they show no personal data beyond a greeting (S2)."""
    customer = Customer.objects.filter(pk=customer_id).first()
    return customer_current(customer) if customer is not None else None


def current_customer_ids(ids: set[int]) -> dict[int, int]:
    """Customer ids to the profile that holds them now (following merges); unknown ids left out."""
    current = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "merged_into_id"))
    resolved: dict[int, int] = {}
    for pk, merged_into in current.items():
        while merged_into is not None:
            pk_now = merged_into
            merged_into = Customer.objects.filter(pk=pk_now).values_list("merged_into_id", flat=True).get()
            resolved[pk] = pk_now
        resolved.setdefault(pk, pk)
    return resolved


def customer_group_ids(customer: Customer) -> list[int]:
    """The customer and every profile merged into it, at any depth (timeline is read across them)."""
    return _group_from([customer.pk])


def _group_from(frontier: list[int]) -> list[int]:
    group = list(frontier)
    while frontier:
        frontier = list(Customer.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True))
        group.extend(frontier)
    return group


@dataclass(frozen=True)
class TimelinePage:
    events: list[TimelineEvent]
    next_cursor: str | None


def _encode_cursor(event: TimelineEvent) -> str:
    raw = json.dumps([event.occurred_at.isoformat(), event.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        occurred, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(occurred), int(pk)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidInput("cursor: not a cursor this API returned.", field="cursor") from None


def timeline_page(
    *,
    actor: AnyUser,
    customer: Customer,
    cursor: str | None = None,
    limit: int = 50,
    via: str = "api",
    audit: bool = True,
) -> TimelinePage:
    """Newest first, keyset-paginated so page 1,000 costs what page 1 costs."""
    access.require(actor, Capability.CUSTOMER_READ)
    return _timeline_page(
        actor=actor,
        customer_id=customer.pk,
        group=customer_group_ids(customer),
        cursor=cursor,
        limit=limit,
        via=via,
        audit=audit,
    )


def timeline_page_by_id(
    *, actor: AnyUser, customer_id: int, cursor: str | None = None, limit: int = 50, via: str = "api"
) -> TimelinePage:
    """``timeline_page`` when only the id is at hand (the API): the customer's existence and the
    first level of its merge group come from one query instead of two."""
    access.require(actor, Capability.CUSTOMER_READ)
    first_level = list(
        Customer.objects.filter(Q(pk=customer_id) | Q(merged_into_id=customer_id))
        .order_by()
        .values_list("pk", flat=True)
    )
    if customer_id not in first_level:
        raise no_customer(customer_id, field="id")
    absorbed = [pk for pk in first_level if pk != customer_id]
    group = [customer_id, *_group_from(absorbed)] if absorbed else [customer_id]
    return _timeline_page(
        actor=actor, customer_id=customer_id, group=group, cursor=cursor, limit=limit, via=via, audit=True
    )


def _timeline_page(
    *,
    actor: AnyUser,
    customer_id: int,
    group: list[int],
    cursor: str | None,
    limit: int,
    via: str,
    audit: bool,
) -> TimelinePage:
    if not 1 <= limit <= 200:
        raise InvalidInput("limit: must be between 1 and 200.", field="limit")
    events = TimelineEvent.objects.filter(customer_id__in=group)
    if len(group) > 1:
        # A merge writes one event on each profile; read across the group, the survivor's copy
        # tells it, so the absorbed profiles' copies are left out (a profile viewed on its own keeps its copy).
        events = events.exclude(
            Q(kind="customer.merged", data__role="absorbed") & ~Q(customer_id=customer_id)
        )
    if cursor:
        occurred_at, pk = _decode_cursor(cursor)
        events = events.filter(Q(occurred_at__lt=occurred_at) | Q(occurred_at=occurred_at, pk__lt=pk))
    page = list(events.order_by("-occurred_at", "-id")[: limit + 1])
    if audit:
        audit_record_reads(actor=actor, customer_ids=[customer_id], object_type="timeline", via=via)
    has_more = len(page) > limit
    page = page[:limit]
    return TimelinePage(events=page, next_cursor=_encode_cursor(page[-1]) if has_more else None)


@dataclass(frozen=True)
class OrderSummary:
    order: Order
    lines: list[OrderLine]
    age_days: int


@dataclass(frozen=True)
class Customer360:
    customer: Customer
    identifiers: list[Identifier]
    orders: list[OrderSummary]
    timeline: TimelinePage
    merges: list[MergeRecord]
    # Sections other apps registered in customers.panels, read across the merge group like
    # the timeline (consent, messages, entitlements, promises, the mirror).
    panels: list[Panel] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerAtAGlance:
    """The customer, their identifiers and recent orders: what a page beside a conversation shows."""

    customer: Customer
    identifiers: list[Identifier]
    orders: list[OrderSummary]


def customer_at_a_glance(
    *, actor: AnyUser, customer_id: int, via: str = "web", sections: list[str] | None = None
) -> CustomerAtAGlance:
    """Profile, identifiers and the last 50 orders in a fixed number of queries; the read is audited
    with the sections the caller shows."""
    sections = sections or ["profile", "identifiers", "orders"]
    customer = customer_get(actor=actor, customer_id=customer_id, via=via, detail={"sections": sections})
    identifiers = list(customer.identifiers.all())
    orders: QuerySet[Order] = customer.orders.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product"))
    )
    today = timezone.now()
    summaries = [
        OrderSummary(order=o, lines=list(o.lines.all()), age_days=(today - o.purchased_at).days)
        for o in orders[:50]
    ]
    return CustomerAtAGlance(customer=customer, identifiers=identifiers, orders=summaries)


def customer_360(*, actor: AnyUser, customer_id: int, via: str = "web") -> Customer360:
    """Everything an agent needs before typing a word (C4, S10, S20), in a fixed number of queries."""
    shows_consent = access.has_capability(actor, Capability.CONSENT_READ)
    sections = ["profile", "identifiers", "orders", "timeline", "merges"]
    if shows_consent:
        sections += ["consent", "messages"]  # one audited read covers the whole page
    glance = customer_at_a_glance(actor=actor, customer_id=customer_id, via=via, sections=sections)
    customer = glance.customer
    merges = list(
        MergeRecord.objects.filter(Q(survivor=customer) | Q(absorbed=customer)).order_by("-merged_at")[:20]
    )
    group = customer_group_ids(customer)
    timeline = _timeline_page(
        actor=actor, customer_id=customer.pk, group=group, cursor=None, limit=50, via=via, audit=False
    )
    return Customer360(
        customer=customer,
        identifiers=glance.identifiers,
        orders=glance.orders,
        timeline=timeline,
        merges=merges,
        panels=customer_panels(actor=actor, customer=customer, group=group),
    )


def merge_get(*, actor: AnyUser, merge_id: int) -> MergeRecord:
    access.require(actor, Capability.CUSTOMER_MERGE)
    return found(MergeRecord.objects.filter(pk=merge_id).first(), f"No merge with id {merge_id}.")


def identifiers_by_customer(customer_ids: list[int]) -> dict[int, list[Identifier]]:
    grouped: dict[int, list[Identifier]] = {pk: [] for pk in customer_ids}
    for identifier in Identifier.objects.filter(customer_id__in=customer_ids).order_by("kind", "id"):
        grouped[identifier.customer_id].append(identifier)
    return grouped


def customer_names(*, actor: AnyUser, customer_ids: Iterable[int], via: str = "web") -> dict[int, str]:
    """How each person is named on a page that lists several (a review queue): a read of
    their names, so audited like any other."""
    access.require(actor, Capability.CUSTOMER_READ)
    ids = set(customer_ids)
    names = {c.pk: c.display_name for c in Customer.objects.filter(pk__in=ids).only(*_NAME_FIELDS)}
    audit_record_reads(actor=actor, customer_ids=sorted(names), object_type="customer", via=via)
    return names


_NAME_FIELDS = ("preferred_name", "given_name", "family_name")
