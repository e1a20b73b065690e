"""Reads for identity resolution: profiles in the model's form, the review queue, runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from regard.customers import selectors as customer_selectors
from regard.customers.models import Customer, Identifier
from regard.errors import found
from regard.matching import engine
from regard.matching.models import MatchCandidate, MatchRun
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability

PROFILE_COLUMNS = ("id", "given_name", "family_name", "date_of_birth", "street", "locality", "postcode")
# Which identifier kinds feed which model field (first one seen wins).
IDENTIFIER_FIELDS = {"email": "email", "phone": "phone", "account": "account", "external": "account"}


def _stream(rows: QuerySet[Any, Any], customer_ids: list[int] | None) -> Iterable[Any]:
    """All customers stream in chunks (a server-side cursor on PostgreSQL); a few named ones
    (the incremental check's) are read at once, which saves that cursor's round trips."""
    if customer_ids is not None and len(customer_ids) <= 1000:
        return list(rows)
    return rows.iterator(chunk_size=20_000)


def _identifier_values(customer_ids: list[int] | None) -> dict[int, dict[str, str]]:
    # Ordered by customer, then id: the customer index serves a few customers' rows at once.
    rows = Identifier.objects.filter(kind__in=IDENTIFIER_FIELDS).order_by("customer_id", "id")
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=customer_ids)
    found: dict[int, dict[str, str]] = {}
    for customer_id, kind, value in _stream(
        rows.values_list("customer_id", "kind", "value_normalised"), customer_ids
    ):
        found.setdefault(customer_id, {}).setdefault(IDENTIFIER_FIELDS[kind], value)
    return found


def profiles(customer_ids: Iterable[int] | None = None) -> tuple[list[int], list[dict[str, str]]]:
    """Active (not merged away) customers as model records, in id order."""
    ids_filter = None if customer_ids is None else list(customer_ids)
    rows = Customer.objects.filter(merged_into__isnull=True).order_by("id")
    if ids_filter is not None:
        rows = rows.filter(pk__in=ids_filter)
    extra = _identifier_values(ids_filter)
    ids: list[int] = []
    records: list[dict[str, str]] = []
    for pk, *columns in _stream(rows.values_list(*PROFILE_COLUMNS), ids_filter):
        ids.append(pk)
        records.append(_record(columns, extra.get(pk, {})))
    return ids, records


def profile_of(customer: Customer) -> dict[str, str]:
    """One customer's record from the instance at hand (the incremental check's newcomer)."""
    columns = [getattr(customer, name) for name in PROFILE_COLUMNS[1:]]
    return _record(columns, _identifier_values([customer.pk]).get(customer.pk, {}))


def _record(columns: list[Any], identifiers: dict[str, str]) -> dict[str, str]:
    given, family, dob, street, locality, postcode = columns
    return engine.profile(
        given_name=given,
        family_name=family,
        date_of_birth=dob,
        street=street,
        locality=locality,
        postcode=postcode,
        email=identifiers.get("email", ""),
        phone=identifiers.get("phone", ""),
        account=identifiers.get("account", ""),
    )


def candidate_queue(
    *,
    actor: AnyUser,
    status: str | None = MatchCandidate.Status.PROPOSED,
    min_probability: float = 0.0,
) -> QuerySet[MatchCandidate]:
    """Best candidates first. Holds ids and weights only; names are read through customers."""
    access.require(actor, Capability.MATCH_REVIEW)
    queue = MatchCandidate.objects.filter(probability__gte=min_probability)
    if status:
        queue = queue.filter(status=status)
    # Strong matches all round to a probability of 1.0; the weight keeps ranking them.
    return queue.order_by("-probability", "-match_weight", "id")


def candidate_get(*, actor: AnyUser, candidate_id: int) -> MatchCandidate:
    access.require(actor, Capability.MATCH_REVIEW)
    return found(
        MatchCandidate.objects.filter(pk=candidate_id).first(), f"No match candidate with id {candidate_id}."
    )


@dataclass(frozen=True)
class CandidateReview:
    candidate: MatchCandidate
    left: Customer
    right: Customer
    left_identifiers: list[Identifier]
    right_identifiers: list[Identifier]


def candidate_review(*, actor: AnyUser, candidate_id: int, via: str = "web") -> CandidateReview:
    """Both records side by side; reading them is audited like any profile read (invariant 6)."""
    candidate = candidate_get(actor=actor, candidate_id=candidate_id)
    left = customer_selectors.customer_get(actor=actor, customer_id=candidate.customer_low_id, via=via)
    right = customer_selectors.customer_get(actor=actor, customer_id=candidate.customer_high_id, via=via)
    identifiers = customer_selectors.identifiers_by_customer([left.pk, right.pk])
    return CandidateReview(
        candidate=candidate,
        left=left,
        right=right,
        left_identifiers=identifiers.get(left.pk, []),
        right_identifiers=identifiers.get(right.pk, []),
    )


def run_get(*, actor: AnyUser, run_id: int) -> MatchRun:
    access.require(actor, Capability.MATCH_REVIEW)
    return found(MatchRun.objects.filter(pk=run_id).first(), f"No match run with id {run_id}.")


def chunked(values: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
