"""Comparing a pair field by field into levels (exact, nickname, close, …, else)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz.distance import OSA, JaroWinkler, Prefix
from rapidfuzz.process import cpdist

from regard.matching.engine.cleaning import FIELDS
from regard.matching.engine.columns import RecordTable
from regard.matching.nicknames import are_nicknames


@dataclass
class DistinctPairs:
    """The distinct (value a, value b) pairs of one field that are neither missing nor exact."""

    table: RecordTable
    name: str
    ca: np.ndarray  # vocabulary codes
    cb: np.ndarray

    def strings(self) -> tuple[np.ndarray, np.ndarray]:
        words = self.table.derived(self.name, "objects")
        return words[self.ca], words[self.cb]

    def per_value(self, what: str) -> tuple[np.ndarray, np.ndarray]:
        values = self.table.derived(self.name, what)
        return values[self.ca], values[self.cb]


def _similarity(scorer: Any, a: Sequence[str] | np.ndarray, b: Sequence[str] | np.ndarray) -> np.ndarray:
    if not len(a):
        return np.empty(0, dtype=np.float64)
    # Large batches use every core (as DuckDB does); small ones stay on this thread.
    workers = -1 if len(a) >= 20_000 else 1
    return np.asarray(cpdist(a, b, scorer=scorer, workers=workers), dtype=np.float64)


def _distinct_pairs(
    table: RecordTable, name: str, ia: np.ndarray, ib: np.ndarray
) -> tuple[np.ndarray, np.ndarray, DistinctPairs, np.ndarray]:
    """Levels 0 (missing) and 1 (exact) set; the other pairs reduced to distinct value pairs.

    Returns (levels, positions still to grade, the distinct pairs, inverse) where the
    distinct pair ``inverse[k]`` belongs to position ``rest[k]``.
    """
    ca, cb = table.codes[name][ia], table.codes[name][ib]
    levels = np.zeros(len(ia), dtype=np.int8)
    missing = (ca < 0) | (cb < 0)
    exact = ~missing & (ca == cb)
    levels[exact] = 1
    rest = np.flatnonzero(~missing & ~exact)
    width = max(len(table.vocab[name]), 1)
    distinct, inverse = np.unique(ca[rest] * width + cb[rest], return_inverse=True)
    pairs = DistinctPairs(table=table, name=name, ca=distinct // width, cb=distinct % width)
    return levels, rest, pairs, inverse.reshape(-1)


def _grade(similarity: np.ndarray, thresholds: Sequence[float], first_level: int) -> np.ndarray:
    """Similarity → level: ≥ thresholds[0] → first_level, …; below all → the next level."""
    graded = np.full(len(similarity), first_level + len(thresholds), dtype=np.int8)
    for offset in range(len(thresholds) - 1, -1, -1):
        graded[similarity >= thresholds[offset]] = first_level + offset
    return graded


def _jaro_winkler(pairs: DistinctPairs) -> np.ndarray:
    return _similarity(JaroWinkler.normalized_similarity, *pairs.strings())


def _osa(pairs: DistinctPairs) -> np.ndarray:
    return _similarity(OSA.distance, *pairs.strings())


def _given_levels(pairs: DistinctPairs) -> np.ndarray:
    a, b = pairs.strings()
    levels = _grade(_similarity(JaroWinkler.normalized_similarity, a, b), (0.92, 0.80), 3)
    levels[levels == 5] = 6  # 3, 4; else 6 'different' (5 is 'swapped', set after the swap check)
    # One name the start of the other (Jon/Jonathan), at least three letters long.
    len_a, len_b = pairs.per_value("lengths")
    shorter = np.minimum(len_a, len_b)
    nick = (shorter >= 3) & (_similarity(Prefix.similarity, a, b) >= shorter)
    in_a, in_b = pairs.per_value("nickname")
    listed = np.flatnonzero(in_a & in_b & ~nick)
    if len(listed):
        nick[listed] = [are_nicknames(x, y) for x, y in zip(a[listed], b[listed], strict=True)]
    levels[nick] = 2
    return levels


def _family_levels(pairs: DistinctPairs) -> np.ndarray:
    levels = _grade(_jaro_winkler(pairs), (0.92, 0.80), 2)
    levels[levels == 4] = 5  # 4 is 'swapped', set by the cross-field check
    return levels


def _date_levels(pairs: DistinctPairs) -> np.ndarray:
    distance = _osa(pairs)
    levels = np.where(distance <= 1, 2, np.where(distance <= 2, 3, 4)).astype(np.int8)
    x, y = pairs.per_value("dates")
    swapped = (x // 10000 == y // 10000) & ((x // 100) % 100 == y % 100) & (x % 100 == (y // 100) % 100)
    levels[swapped] = 2
    return levels


def _street_levels(pairs: DistinctPairs) -> np.ndarray:
    return _grade(_jaro_winkler(pairs), (0.90, 0.75), 2)


def _locality_levels(pairs: DistinctPairs) -> np.ndarray:
    return _grade(_jaro_winkler(pairs), (0.88,), 2)


def _one_typo_levels(pairs: DistinctPairs) -> np.ndarray:
    return np.where(_osa(pairs) <= 1, 2, 3).astype(np.int8)


def _email_levels(pairs: DistinctPairs) -> np.ndarray:
    box_codes, boxes = pairs.table.derived(pairs.name, "mailboxes")
    box_a, box_b = box_codes[pairs.ca], box_codes[pairs.cb]
    words = np.empty(len(boxes) + 1, dtype=object)
    words[:-1] = boxes
    words[-1] = ""  # code -1: an address without a mailbox part
    similar = _similarity(JaroWinkler.normalized_similarity, words[box_a], words[box_b])
    levels = np.where(similar >= 0.88, 3, 4).astype(np.int8)
    lengths = np.fromiter(map(len, boxes), dtype=np.int64, count=len(boxes))
    same = (box_a == box_b) & (box_a >= 0)
    same[same] &= lengths[box_a[same]] >= 3
    levels[same] = 2
    return levels


def _phone_levels(pairs: DistinctPairs) -> np.ndarray:
    levels = np.where(_osa(pairs) <= 1, 3, 4).astype(np.int8)
    tail_codes, _ = pairs.table.derived(pairs.name, "tails")
    tail_a, tail_b = tail_codes[pairs.ca], tail_codes[pairs.cb]
    levels[(tail_a == tail_b) & (tail_a >= 0)] = 2
    return levels


_LEVEL_FUNCTIONS: dict[str, Callable[[DistinctPairs], np.ndarray]] = {
    "given_name": _given_levels,
    "family_name": _family_levels,
    "date_of_birth": _date_levels,
    "street": _street_levels,
    "locality": _locality_levels,
    "postcode": _one_typo_levels,
    "email": _email_levels,
    "phone": _phone_levels,
    "account": _one_typo_levels,
}
_GIVEN, _FAMILY = FIELDS.index("given_name"), FIELDS.index("family_name")
_SWAPPED = {"given_name": 5, "family_name": 4}


def _mark_swapped_names(table: RecordTable, ia: np.ndarray, ib: np.ndarray, out: np.ndarray) -> None:
    """Given and family name exchanged between the two records (a classic form-filling slip)."""
    candidates = np.flatnonzero((out[:, _GIVEN] >= 4) & (out[:, _FAMILY] >= 3))
    if not len(candidates):
        return
    given = table.derived("given_name", "objects")
    family = table.derived("family_name", "objects")
    ga, gb = table.codes["given_name"][ia[candidates]], table.codes["given_name"][ib[candidates]]
    fa, fb = table.codes["family_name"][ia[candidates]], table.codes["family_name"][ib[candidates]]
    cross_1 = _similarity(JaroWinkler.normalized_similarity, given[ga], family[fb])
    cross_2 = _similarity(JaroWinkler.normalized_similarity, family[fa], given[gb])
    swapped = candidates[(cross_1 >= 0.92) & (cross_2 >= 0.92)]
    out[swapped, _GIVEN] = _SWAPPED["given_name"]
    out[swapped, _FAMILY] = _SWAPPED["family_name"]


def compare(table: RecordTable, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Comparison levels, shape (pairs, fields), for the record pairs (ia[k], ib[k])."""
    out = np.zeros((len(ia), len(FIELDS)), dtype=np.int8)
    for column, name in enumerate(FIELDS):
        levels, rest, pairs, inverse = _distinct_pairs(table, name, ia, ib)
        if len(pairs.ca):
            levels[rest] = _LEVEL_FUNCTIONS[name](pairs)[inverse]
        out[:, column] = levels
    # missing-name pairs (level 0) never count as swapped
    valid = (table.codes["given_name"][ia] >= 0) & (table.codes["family_name"][ib] >= 0)
    valid &= (table.codes["family_name"][ia] >= 0) & (table.codes["given_name"][ib] >= 0)
    if valid.all():
        _mark_swapped_names(table, ia, ib, out)
    else:
        subset = np.flatnonzero(valid)
        part = out[subset]
        _mark_swapped_names(table, ia[subset], ib[subset], part)
        out[subset] = part
    return out
