"""The incremental path: one new or changed customer scored against its blocks at once (C1)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from regard.customers.models import Customer
from regard.matching import engine, selectors
from regard.matching.models import MatchCandidate, MatchKey
from regard.matching.services.candidates import Evidence, _store_candidates
from regard.matching.services.review import _auto_merge, matching_settings
from regard.matching.services.training import active_model

# One new customer is scored against the customers sharing the most blocking keys with it.
INCREMENTAL_CANDIDATE_LIMIT = 100


def match_candidates_for(customer: Customer, *, now: datetime | None = None) -> list[MatchCandidate]:
    """Score one customer against its blocks at once (C1: flagged while they are on the line).

    Does nothing until a model has been trained: customer creation must never depend on it.
    """
    found = active_model()
    if found is None or customer.merged_into_id is not None:
        return []
    model_row, model = found
    now = now or timezone.now()
    record = selectors.profile_of(customer)
    hashes = sorted(set(engine.blocking_keys(record)))
    with transaction.atomic():
        MatchKey.objects.filter(customer_id=customer.pk).delete()
        MatchKey.objects.bulk_create(MatchKey(key_hash=h, customer_id=customer.pk) for h in hashes)
    if not hashes:
        return []
    others = _customers_sharing_keys(customer.pk, hashes)
    if not others:
        return []
    other_ids, other_records = selectors.profiles(others)
    table = engine.RecordTable.build([record, *other_records])
    ib = np.arange(1, len(other_records) + 1)
    levels, weights, probability, adjustments = engine.score_pairs(
        model, table, np.zeros(len(ib), dtype=np.int64), ib
    )
    config = matching_settings()
    likely: list[tuple[int, int, Evidence, float, float]] = []
    for k in np.flatnonzero(probability >= config.review_threshold).tolist():
        low, high = sorted((customer.pk, other_ids[k]))
        likely.append((low, high, (levels[k], adjustments[k]), float(weights[k]), float(probability[k])))
    if not likely:
        return []
    with transaction.atomic():
        created = _store_candidates(
            model_row=model_row, model=model, pairs=likely, source="incremental", now=now
        )
    _auto_merge(created, threshold=config.auto_merge_threshold)
    return created


def _customers_sharing_keys(customer_id: int, hashes: Sequence[int]) -> list[int]:
    """The customers sharing most blocking keys with this one, most first, at most
    ``INCREMENTAL_CANDIDATE_LIMIT``; as in a batch run, a key held by more than
    ``engine.MAX_BLOCK`` customers is no block. Each key's rows are read up to one more than that,
    so the cost is bounded however many profiles are stored."""
    table = MatchKey._meta.db_table
    per_key = " UNION ALL ".join(
        f"SELECT {number} AS k, customer_id FROM "  # nosec B608 # SQL names from model metadata, values as parameters
        f"(SELECT customer_id FROM {table} WHERE key_hash = %s LIMIT {engine.MAX_BLOCK + 1}) AS b{number}"
        for number in range(len(hashes))
    )
    sql = (
        f"WITH hits AS ({per_key}), "  # nosec B608 # SQL names from model metadata, values as parameters
        f"blocks AS (SELECT k FROM hits GROUP BY k HAVING COUNT(*) <= {engine.MAX_BLOCK}) "
        "SELECT customer_id FROM hits WHERE k IN (SELECT k FROM blocks) AND customer_id <> %s "
        "GROUP BY customer_id ORDER BY COUNT(*) DESC, customer_id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*hashes, customer_id, INCREMENTAL_CANDIDATE_LIMIT])
        return [row[0] for row in cursor.fetchall()]


def on_customer_changed(customer_id: int) -> None:
    """Hook registered with customers: a new profile or identifier is checked for duplicates."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is not None:
        match_candidates_for(customer)
