"""Fixed, log-spaced buckets of whole working minutes: how the rollups keep waits for p50/p90 (C6).

A rollup cannot keep every wait, so it keeps how many fell in each bucket. Minutes 0–9 have
a bucket each; above that every bucket is at most 10% wider than the one before it. A
percentile read from buckets is the *upper end* of the bucket holding the nearest-rank
value: never below the exact figure, and at most 10% above it. Buckets keep their order,
so the bucket holding the exact percentile is known exactly from the counts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping

EXACT_BELOW = 10
RATIO = 1.1
# Twenty years of minutes: every wait a conversation can have fits below the last edge.
LAST_EDGE = 20 * 366 * 24 * 60


def _edges() -> tuple[int, ...]:
    edges = list(range(EXACT_BELOW))
    edge = float(EXACT_BELOW)
    while edges[-1] < LAST_EDGE:
        # The next lower bound is 10% above this one, and always at least one minute on.
        edges.append(max(edges[-1] + 1, int(edge)))
        edge = edges[-1] * RATIO
    return tuple(edges)


EDGES = _edges()


def bucket_of(minutes: int) -> int:
    """The bucket a wait of ``minutes`` falls in (a negative wait, a data error, counts as 0)."""
    return max(0, bisect_right(EDGES, minutes) - 1)


def bucket_upper(index: int) -> int:
    """The largest whole minute inside a bucket: what a percentile from buckets reports."""
    return EDGES[index + 1] - 1 if index + 1 < len(EDGES) else EDGES[index]


def bucketed(values: Iterable[int]) -> Counter[int]:
    return Counter(bucket_of(v) for v in values)


def bucket_percentile(counts: Mapping[int, int], share: float) -> int | None:
    """The nearest-rank percentile (as ``percentile`` ranks it), read from bucket counts."""
    total = sum(counts.values())
    if not total:
        return None
    rank = max(1, -(-total * share // 1))  # ceil(n × share), as for exact values
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return bucket_upper(index)
    raise AssertionError("unreachable")  # pragma: no cover - the counts add up to total
