"""Regard's Fellegi–Sunter record-linkage model, in numpy and rapidfuzz (C1).

Pure functions, no Django: the batch run, the incremental path and the benchmark all
use the same code. The model follows Splink's formulation:

* every field is compared into one of a few *levels* (exact, nickname, close, …, else;
  level 0 means a value is missing and carries no evidence);
* ``u`` (how often a level occurs between two random people) is estimated from random
  pairs, ``m`` (how often it occurs between two records of one person) by
  expectation–maximisation over the blocked pairs;
* a pair's match weight is the prior log-odds plus the sum of log2(m/u) over fields,
  which is also the explanation shown to reviewers (a waterfall of these terms).

Blocking rules keep it from comparing all pairs; the same keys, hashed, are stored in
the database so one new customer is scored against its blocks at once.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import Any

import numpy as np
from rapidfuzz.distance import OSA, JaroWinkler, Prefix
from rapidfuzz.process import cpdist

from regard.matching.nicknames import NICKNAME_GROUPS, are_nicknames, nickname_key

FIELDS: tuple[str, ...] = (
    "given_name",
    "family_name",
    "date_of_birth",
    "street",
    "locality",
    "postcode",
    "email",
    "phone",
    "account",
)
# Level names per field, best first; level index = position + 1 (0 = missing).
LEVELS: dict[str, tuple[str, ...]] = {
    "given_name": ("exact", "nickname", "jaro-winkler ≥ 0.92", "jaro-winkler ≥ 0.80", "swapped", "different"),
    "family_name": ("exact", "jaro-winkler ≥ 0.92", "jaro-winkler ≥ 0.80", "swapped", "different"),
    "date_of_birth": ("exact", "one typo or day/month swapped", "two typos", "different"),
    "street": ("exact", "jaro-winkler ≥ 0.90", "jaro-winkler ≥ 0.75", "different"),
    "locality": ("exact", "jaro-winkler ≥ 0.88", "different"),
    "postcode": ("exact", "one typo", "different"),
    "email": ("exact", "same mailbox, other form or domain", "similar mailbox", "different"),
    "phone": ("exact", "same last 7 digits", "one typo", "different"),
    "account": ("exact", "one typo", "different"),
}
# What m looks like before any training: strong levels likely among matches.
_M_TEMPLATE = {2: (0.9, 0.1), 3: (0.85, 0.1, 0.05), 4: (0.8, 0.1, 0.05, 0.05)}
_SPACES = re.compile(r"\s+")
_NON_DIGITS = re.compile(r"\D+")
_ASCII_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def clean_text(value: object) -> str:
    """Lower case, accents stripped, punctuation to spaces, spaces collapsed."""
    if value is None:
        return ""
    return _clean_str(str(value))


@lru_cache(maxsize=1 << 16)
def _clean_str(text: str) -> str:
    # Names, streets and towns repeat a lot: the cache and the ASCII path make loading
    # a million profiles a matter of seconds (same result as the general path).
    if text.isascii():
        return _ASCII_NON_ALNUM.sub(" ", text.lower()).strip()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = "".join(c if c.isalnum() else " " for c in text)
    return _SPACES.sub(" ", text).strip()


def clean_postcode(value: object) -> str:
    return clean_text(value).replace(" ", "").upper()


def clean_date(value: object) -> str:
    """Dates as YYYYMMDD text, so transpositions and typos can be compared as strings."""
    if value is None or value == "":
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("-", "")
    digits = _NON_DIGITS.sub("", str(value))
    return digits if len(digits) == 8 else ""


def mailbox(email: str) -> str:
    """The part of an address that names the person: local part, no dots, no +tag."""
    # Everything from the first "@" or "+" on goes, and the dots, dashes and underscores
    # (string methods: three times faster than one regular expression over a million addresses).
    local = email.partition("@")[0].partition("+")[0]
    return local.replace(".", "").replace("_", "").replace("-", "")


def house_number(street: str) -> str:
    """The house number that starts a cleaned street address ("12a main street" → "12a"), or ""."""
    head, space, _ = street.partition(" ")
    if not space or not head:
        return ""
    if head.isdecimal() or (head[:-1].isdecimal() and "a" <= head[-1] <= "z"):
        return head
    return ""


def profile(
    *,
    given_name: object = "",
    family_name: object = "",
    date_of_birth: object = None,
    street: object = "",
    locality: object = "",
    postcode: object = "",
    email: object = "",
    phone: object = "",
    account: object = "",
) -> dict[str, str]:
    """One record in the model's normal form; every field a string, "" when unknown."""
    return {
        "given_name": clean_text(given_name),
        "family_name": clean_text(family_name),
        "date_of_birth": clean_date(date_of_birth),
        "street": clean_text(street),
        "locality": clean_text(locality),
        "postcode": clean_postcode(postcode),
        "email": str(email or "").strip().lower(),
        "phone": _NON_DIGITS.sub("", str(phone or "")),
        "account": clean_text(account).replace(" ", ""),
    }


# ---------------------------------------------------------------- columns


def _factorize(column: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Codes (first appearance order, "" → -1) and the distinct non-empty values."""
    position: dict[str, int] = dict.fromkeys(column, 0)
    position.pop("", None)
    distinct = list(position)
    position = dict(zip(distinct, range(len(distinct)), strict=True))  # C loops, no Python frames
    position[""] = -1
    codes = np.fromiter(map(position.__getitem__, column), dtype=np.int64, count=len(column))
    return codes, distinct


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_PRIME = np.uint64(0x100000001B3)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hash_words(words: np.ndarray) -> np.ndarray:
    """Hash rows of uint64 words; zero words (padding after the text) do not count."""
    h = np.zeros(len(words), dtype=np.uint64)
    for column in range(words.shape[1]):
        word = words[:, column]
        h = np.where(word != 0, h * _PRIME + word, h)
    return _mix(h ^ _GOLDEN)


def _string_hashes(values: Sequence[str], prefixes: Sequence[int] = ()) -> dict[int, np.ndarray]:
    """Stable 64-bit hashes of whole strings (key 0) and of their first k characters.

    Vectorised over the text's code points, two per 64-bit word; padding does not count,
    so a string hashes the same in an array of one as in an array of a million.
    """
    n = len(values)
    result = {k: np.empty(n, dtype=np.uint64) for k in (0, *prefixes)}
    for start in range(0, n, 200_000):
        chunk = values[start : start + 200_000]
        width = max(max(map(len, chunk), default=1), 1)
        width += width % 2
        part = np.array(chunk, dtype=f"<U{width}")
        result[0][start : start + len(chunk)] = _hash_words(part.view(np.uint64).reshape(len(chunk), -1))
        chars = part.view(np.uint32).reshape(len(chunk), -1)
        for k in prefixes:
            head = np.zeros((len(chunk), k + k % 2), dtype=np.uint32)
            head[:, : min(k, width)] = chars[:, : min(k, width)]
            result[k][start : start + len(chunk)] = _hash_words(head.view(np.uint64))
    return result


@dataclass
class RecordTable:
    """Records as dictionary-encoded columns, so equal values compare as integers.

    Per-value facts (hashes, prefixes, mailboxes, date parts) are computed once per
    distinct value and looked up by code, never per pair.
    """

    size: int
    vocab: dict[str, list[str]]
    codes: dict[str, np.ndarray]
    _derived: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, records: Sequence[dict[str, str]]) -> RecordTable:
        vocab: dict[str, list[str]] = {}
        codes: dict[str, np.ndarray] = {}
        for name in FIELDS:  # one column at a time: twice as fast as transposing the rows
            codes[name], vocab[name] = _factorize(list(map(itemgetter(name), records)))
        return cls(size=len(records), vocab=vocab, codes=codes)

    def derived(self, name: str, what: str) -> Any:
        """A per-value array of ``name``'s vocabulary (computed on first use)."""
        key = (name, what)
        if key not in self._derived:
            self._derived[key] = _DERIVE[what](self, name)
        return self._derived[key]


def _derive_objects(table: RecordTable, name: str) -> np.ndarray:
    values = np.empty(len(table.vocab[name]), dtype=object)
    values[:] = table.vocab[name]
    return values


def _derive_lengths(table: RecordTable, name: str) -> np.ndarray:
    return np.fromiter(map(len, table.vocab[name]), dtype=np.int64, count=len(table.vocab[name]))


def _derive_hashes(table: RecordTable, name: str) -> dict[int, np.ndarray]:
    return _string_hashes(table.vocab[name], (1, 2, 3))


def _derive_prefix_order(table: RecordTable, name: str) -> np.ndarray:
    """The first three characters packed into one integer that sorts like the text."""
    values = table.vocab[name]
    part = np.array([v[:3] for v in values] or [""], dtype="<U3")[: len(values)]
    chars = part.view(np.uint32).reshape(len(values), 3).astype(np.int64)
    return (chars[:, 0] << 42) | (chars[:, 1] << 21) | chars[:, 2]


def _derive_mailboxes(table: RecordTable, name: str) -> tuple[np.ndarray, list[str]]:
    return _factorize(list(map(mailbox, table.vocab[name])))


def _derive_tails(table: RecordTable, name: str) -> tuple[np.ndarray, list[str]]:
    return _factorize([v[-7:] if len(v) >= 7 else "" for v in table.vocab[name]])


def _derive_house_numbers(table: RecordTable, name: str) -> tuple[np.ndarray, list[str]]:
    """The house number that starts a street address ("12a main street" → "12a"), if any."""
    return _factorize(list(map(house_number, table.vocab[name])))


def _derive_dates(table: RecordTable, name: str) -> np.ndarray:
    return np.array([int(v) for v in table.vocab[name]], dtype=np.int64)


def _derive_nickname_groups(table: RecordTable, name: str) -> np.ndarray:
    return np.array([v in NICKNAME_GROUPS for v in table.vocab[name]], dtype=bool)


_DERIVE: dict[str, Callable[[RecordTable, str], Any]] = {
    "objects": _derive_objects,
    "lengths": _derive_lengths,
    "hashes": _derive_hashes,
    "prefix_order": _derive_prefix_order,
    "mailboxes": _derive_mailboxes,
    "tails": _derive_tails,
    "dates": _derive_dates,
    "house_numbers": _derive_house_numbers,
    "nickname": _derive_nickname_groups,
}


# ---------------------------------------------------------------- blocking


BLOCKING_RULES: tuple[str, ...] = (
    "name prefixes (either order)",
    "date of birth + given initial",
    "date of birth + family initial",
    "postcode + given initial",
    "postcode + family initial",
    "mailbox",
    "phone last 7 digits",
    "family name + locality",
    "date of birth + postcode",
    "street + postcode",
    "street + family prefix",
    "date of birth + locality",
    "street + locality",
    "date of birth + street",
    "street (with its number)",
    "postcode + house number",
    "house number + locality",
    "given name + locality",
)


def _combine(rule: int, first: np.ndarray, second: np.ndarray | None = None) -> np.ndarray:
    """One signed 64-bit key hash from the rule number and its parts' hashes."""
    h = _mix(np.uint64(((rule + 1) * int(_GOLDEN)) & 0xFFFFFFFFFFFFFFFF) ^ first)
    if second is not None:
        h = _mix(h ^ (second * np.uint64(0xFF51AFD7ED558CCD)))
    return h.view(np.int64)


def _column_facts(table: RecordTable, name: str, prefix: int) -> tuple[np.ndarray, np.ndarray]:
    """(present, hash of the value or of its first ``prefix`` characters) per record."""
    codes = table.codes[name]
    present = codes >= 0
    hashes = table.derived(name, "hashes")[prefix]
    return present, hashes[np.where(present, codes, 0)] if len(hashes) else np.zeros(len(codes), np.uint64)


def _rule_keys(table: RecordTable) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(rule, records with the key, their key hashes) for every blocking rule."""
    given, given1 = _column_facts(table, "given_name", 1)
    _, given3 = _column_facts(table, "given_name", 3)
    _, given_full = _column_facts(table, "given_name", 0)
    family, family1 = _column_facts(table, "family_name", 1)
    _, family2 = _column_facts(table, "family_name", 2)
    _, family3 = _column_facts(table, "family_name", 3)
    _, family_full = _column_facts(table, "family_name", 0)
    dob, dob_hash = _column_facts(table, "date_of_birth", 0)
    postcode, postcode_hash = _column_facts(table, "postcode", 0)
    street, street_hash = _column_facts(table, "street", 0)
    locality, locality_hash = _column_facts(table, "locality", 0)

    # Sorted name prefixes, so "Smith John" swapped into the wrong fields still meets "John Smith".
    order_given = table.derived("given_name", "prefix_order")
    order_family = table.derived("family_name", "prefix_order")
    both = given & family
    og = order_given[np.where(given, table.codes["given_name"], 0)] if len(order_given) else given * 0
    of = order_family[np.where(family, table.codes["family_name"], 0)] if len(order_family) else family * 0
    given_first = og <= of
    low = np.where(given_first, given3, family3)
    high = np.where(given_first, family3, given3)

    email_codes = table.codes["email"]
    box_codes, boxes = table.derived("email", "mailboxes")
    box_hash = _string_hashes(boxes)[0]
    box_long = np.array([len(b) >= 4 for b in boxes], dtype=bool)
    record_box = np.where(
        email_codes >= 0, box_codes[np.maximum(email_codes, 0)] if len(box_codes) else -1, -1
    )
    has_box = record_box >= 0
    has_box[has_box] &= box_long[record_box[has_box]]

    phone_codes = table.codes["phone"]
    tail_codes, tails = table.derived("phone", "tails")
    tail_hash = _string_hashes(tails)[0]
    record_tail = np.where(
        phone_codes >= 0, tail_codes[np.maximum(phone_codes, 0)] if len(tail_codes) else -1, -1
    )
    has_tail = record_tail >= 0

    number_codes, numbers = table.derived("street", "house_numbers")
    number_hash = _string_hashes(numbers)[0]
    street_codes = table.codes["street"]
    record_number = np.where(
        street_codes >= 0, number_codes[np.maximum(street_codes, 0)] if len(number_codes) else -1, -1
    )
    has_number = record_number >= 0
    number_hash = number_hash[np.maximum(record_number, 0)] if len(number_hash) else record_number * 0

    specs: list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]] = [
        (0, both, low, high),
        (1, dob & given, dob_hash, given1),
        (2, dob & family, dob_hash, family1),
        (3, postcode & given, postcode_hash, given1),
        (4, postcode & family, postcode_hash, family1),
        (5, has_box, box_hash[np.maximum(record_box, 0)] if len(box_hash) else record_box * 0, None),
        (6, has_tail, tail_hash[np.maximum(record_tail, 0)] if len(tail_hash) else record_tail * 0, None),
        (7, family & locality, family_full, locality_hash),
        # Names can be missing or mangled in both records: address and birth date still meet.
        (8, dob & postcode, dob_hash, postcode_hash),
        (9, street & postcode, street_hash, postcode_hash),
        (10, street & family, street_hash, family2),
        (11, dob & locality, dob_hash, locality_hash),
        (12, street & locality, street_hash, locality_hash),
        (13, dob & street, dob_hash, street_hash),
        (14, street, street_hash, None),
        (15, postcode & has_number, postcode_hash, number_hash),
        (16, has_number & locality, number_hash, locality_hash),
        (17, given & locality, given_full, locality_hash),
    ]
    keys = []
    for rule, present, first, second in specs:
        owners = np.flatnonzero(present)
        keys.append(
            (
                rule,
                owners,
                _combine(
                    rule,
                    np.asarray(first, dtype=np.uint64)[owners],
                    None if second is None else np.asarray(second, dtype=np.uint64)[owners],
                ),
            )
        )
    return keys


def blocking_keys(record: dict[str, str]) -> list[int]:
    """The hashed blocking keys of one record (the rows it has in MatchKey), by rule."""
    index = BlockIndex.from_table(RecordTable.build([record]))
    return index.hashes.tolist()


# A blocking key held by more records than this pairs none of them (every backend, and the
# incremental check, skip such blocks alike).
MAX_BLOCK = 500


def _pairs_within_groups(codes: np.ndarray, max_block: int) -> np.ndarray:
    """All (i, j), i < j, of records sharing a code; blocks above ``max_block`` are skipped."""
    order = np.argsort(codes)
    sorted_codes = codes[order]
    if len(sorted_codes) < 2:
        return np.empty(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(sorted_codes[1:] != sorted_codes[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(sorted_codes)])
    size_of = np.repeat(sizes, sizes)
    position = np.arange(len(sorted_codes)) - np.repeat(starts, sizes)
    remaining = np.where(size_of <= max_block, size_of - position - 1, 0)
    n = len(codes)
    chunks = []
    index = np.flatnonzero(remaining >= 1)
    step = 1
    while len(index):
        a, b = order[index], order[index + step]
        low, high = np.minimum(a, b), np.maximum(a, b)
        chunks.append(low.astype(np.int64) * n + high)
        step += 1
        index = index[remaining[index] >= step]
    return np.concatenate(chunks) if chunks else np.empty(0, dtype=np.int64)


@dataclass
class BlockIndex:
    """Every record's blocking keys, hashed once: rule number, key hash, record index."""

    rules: np.ndarray
    hashes: np.ndarray
    owners: np.ndarray

    @classmethod
    def build(cls, records: Sequence[dict[str, str]], table: RecordTable | None = None) -> BlockIndex:
        return cls.from_table(table if table is not None else RecordTable.build(records))

    @classmethod
    def from_table(cls, table: RecordTable) -> BlockIndex:
        keys = _rule_keys(table)
        rules = np.concatenate([np.full(len(owners), rule, dtype=np.int64) for rule, owners, _ in keys])
        owners = np.concatenate([owners for _, owners, _ in keys])
        hashes = np.concatenate([hashes for _, _, hashes in keys])
        return cls(rules=rules, hashes=hashes, owners=owners)  # grouped by rule

    def distinct_rows(self) -> np.ndarray:
        """Unique (key hash, record index) rows in record order: the rows of the MatchKey table."""
        order = np.lexsort((self.hashes, self.owners))
        rows = np.stack([self.hashes[order], self.owners[order]], axis=1)
        if len(rows) > 1:
            repeated = (rows[1:] == rows[:-1]).all(axis=1)
            rows = rows[np.r_[True, ~repeated]]
        return rows


def block_pairs(
    records: Sequence[dict[str, str]],
    *,
    max_block: int = MAX_BLOCK,
    index: BlockIndex | None = None,
    table: RecordTable | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (index arrays into ``records``) from every blocking rule, deduplicated."""
    n = len(records) if table is None else table.size
    index = index or BlockIndex.build(records, table)
    encoded = []
    order = np.argsort(index.rules, kind="stable")
    bounds = np.searchsorted(index.rules[order], np.arange(len(BLOCKING_RULES) + 1))
    for rule in range(len(BLOCKING_RULES)):
        in_rule = order[bounds[rule] : bounds[rule + 1]]
        if not len(in_rule):
            continue
        hashes, owners = index.hashes[in_rule], index.owners[in_rule]
        pairs = _pairs_within_groups(hashes, max_block)
        low, high = pairs // len(hashes), pairs % len(hashes)
        a, b = owners[low], owners[high]
        encoded.append(np.minimum(a, b) * n + np.maximum(a, b))
    if not encoded:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    unique = np.sort(np.concatenate(encoded))
    if len(unique) > 1:
        unique = unique[np.r_[True, unique[1:] != unique[:-1]]]
    return unique // n, unique % n


# ---------------------------------------------------------------- comparisons


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


# ---------------------------------------------------------------- the model


@dataclass
class Model:
    """Trained parameters: m and u per field and level (index 0 unused), and the prior."""

    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float  # probability that two random records are the same person
    summary: dict[str, Any] = field(default_factory=dict)
    # Term frequencies per field: {"values": {value: share of records}, "other": share of any
    # value not listed}. An exact agreement on a rare value counts for more than on a common one.
    tf: dict[str, dict[str, Any]] = field(default_factory=dict)
    _weights: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"m": self.m, "u": self.u, "prior": self.prior, "summary": self.summary, "tf": self.tf}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        return cls(
            m=data["m"],
            u=data["u"],
            prior=data["prior"],
            summary=data.get("summary", {}),
            tf=data.get("tf", {}),
        )

    def term_adjustments(self, table: RecordTable, ia: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """Per pair and field, the weight added to an exact agreement for how rare the value is.

        As in Splink: the exact level's Bayes factor m/u becomes m/tf(value), i.e. the
        weight moves by log2(u_exact / tf(value)); other levels are unchanged.
        """
        adjustments = np.zeros(levels.shape, dtype=np.float64)
        for name, frequencies in self.tf.items():
            column = FIELDS.index(name)
            exact = np.flatnonzero(levels[:, column] == 1)
            if not len(exact):
                continue
            key = ("tf", name, id(self))
            per_value = table._derived.get(key)
            if per_value is None:
                listed, other = frequencies["values"], frequencies["other"]
                shares = np.array([listed.get(v, other) for v in table.vocab[name]], dtype=np.float64)
                per_value = np.log2(self.u[name][1] / np.maximum(shares, 1e-12))
                table._derived[key] = per_value
            adjustments[exact, column] = per_value[table.codes[name][ia[exact]]]
        return adjustments

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def weight_table(self) -> np.ndarray:
        """log2(m/u), shape (fields, max levels + 1); level 0 (missing) weighs 0 (computed once)."""
        if self._weights is None:
            self._weights = self._compute_weight_table()
        return self._weights

    def _compute_weight_table(self) -> np.ndarray:
        width = max(len(v) for v in LEVELS.values()) + 1
        table = np.zeros((len(FIELDS), width))
        for column, name in enumerate(FIELDS):
            for level in range(1, len(LEVELS[name]) + 1):
                table[column, level] = math.log2(self.m[name][level] / self.u[name][level])
        return table

    def score(
        self, levels: np.ndarray, adjustments: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(match weight, match probability) per pair (with term-frequency adjustments if given)."""
        table = self.weight_table()
        columns = np.arange(len(FIELDS))
        weights = table[columns, levels.astype(np.int64)].sum(axis=1) + self.prior_weight
        if adjustments is not None:
            weights = weights + adjustments.sum(axis=1)
        probability = 1.0 / (1.0 + np.exp2(-np.clip(weights, -60, 60)))
        return weights, probability

    def explain(
        self, levels: Sequence[int] | np.ndarray, adjustments: Sequence[float] | np.ndarray | None = None
    ) -> dict[str, Any]:
        """The waterfall: prior, then each field's level and its weight.

        A field's weight includes its term-frequency adjustment, which is also given on
        its own (``term_frequency``) where there is one.
        """
        table = self.weight_table()
        steps = []
        for column, name in enumerate(FIELDS):
            level = int(levels[column])
            extra = float(adjustments[column]) if adjustments is not None else 0.0
            step: dict[str, Any] = {
                "field": name,
                "level": LEVELS[name][level - 1] if level else "missing",
                "weight": round(float(table[column, level]) + extra, 3),
            }
            if extra:
                step["term_frequency"] = round(extra, 3)
            steps.append(step)
        return {"prior_weight": round(self.prior_weight, 3), "fields": steps}


def _frequencies(levels: np.ndarray, weights: np.ndarray | None, smoothing: float) -> dict[str, list[float]]:
    result: dict[str, list[float]] = {}
    for column, name in enumerate(FIELDS):
        count = len(LEVELS[name]) + 1
        counts = np.bincount(levels[:, column], weights=weights, minlength=count)[:count].astype(float)
        counts[0] = 0.0
        counts[1:] += smoothing
        total = counts[1:].sum()
        result[name] = [0.0] + [float(c / total) for c in counts[1:]]
    return result


def _template_m() -> dict[str, list[float]]:
    m = {}
    for name in FIELDS:
        count = len(LEVELS[name])
        head = list(_M_TEMPLATE.get(count, (0.8, 0.1, 0.05, 0.03, 0.01)))[:count]
        head += [0.01] * (count - len(head))
        total = sum(head)
        m[name] = [0.0] + [h / total for h in head]
    return m


# Splink's training scheme: u from random pairs, fixed; m by EM in sessions, each over the
# pairs that agree exactly on some fields (those fields' m cannot be learnt there and are
# left out of that session's posterior); the prior by EM on the share of matches alone.
EM_SESSIONS: tuple[tuple[str, ...], ...] = (("date_of_birth",), ("given_name", "family_name"), ("postcode",))


def _log_table(values: dict[str, list[float]]) -> np.ndarray:
    width = max(len(v) for v in LEVELS.values()) + 1
    table = np.zeros((len(FIELDS), width))
    for column, name in enumerate(FIELDS):
        for level in range(1, len(LEVELS[name]) + 1):
            table[column, level] = math.log(max(values[name][level], 1e-12))
    return table


def _em(
    levels: np.ndarray,
    m: dict[str, list[float]],
    u: dict[str, list[float]],
    active: Sequence[int],
    *,
    iterations: int,
    learn_m: bool = True,
    share: float = 0.1,
) -> tuple[dict[str, list[float]], np.ndarray, int]:
    """EM with u fixed: (m, posterior match probability per pair, iterations done)."""
    columns = np.asarray(active, dtype=np.int64)
    index = levels[:, columns].astype(np.int64)
    log_u = _log_table(u)[columns]
    posterior = np.zeros(len(levels))
    done = 0
    for done in range(1, iterations + 1):  # noqa: B007 - reported in the summary
        log_m = _log_table(m)[columns]
        evidence = (log_m[np.arange(len(columns)), index] - log_u[np.arange(len(columns)), index]).sum(axis=1)
        logit = math.log(share / (1 - share)) + evidence
        updated = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        if learn_m:
            learnt = _frequencies(levels, updated, smoothing=1e-3)
            m = {name: learnt[name] if column in active else m[name] for column, name in enumerate(FIELDS)}
        share = float(np.clip(updated.mean(), 1e-9, 1 - 1e-9))
        converged = np.abs(updated - posterior).max() < 1e-5
        posterior = updated
        if converged:
            break
    return m, posterior, done


def _session_pairs(table: RecordTable, names: Sequence[str], max_block: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of records that agree exactly on every field in ``names`` (all present)."""
    present = np.ones(table.size, dtype=bool)
    code = np.zeros(table.size, dtype=np.int64)
    for name in names:
        codes = table.codes[name]
        present &= codes >= 0
        code = code * (len(table.vocab[name]) + 1) + codes + 1
    owners = np.flatnonzero(present)
    if len(owners) < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    pairs = _pairs_within_groups(code[owners], max_block)
    low, high = owners[pairs // len(owners)], owners[pairs % len(owners)]
    return low, high


TF_FIELDS: tuple[str, ...] = ("given_name", "family_name", "street", "locality", "postcode")
TF_STORED_VALUES = 5000


def term_frequencies(table: RecordTable, name: str) -> dict[str, Any]:
    """The share of records holding each of the commonest values (seen twice or more, at most
    ``TF_STORED_VALUES``), and the mean share of any other value; deterministic."""
    codes = table.codes[name]
    vocab = table.vocab[name]
    counts = np.bincount(codes[codes >= 0], minlength=len(vocab))
    total = int(counts.sum())
    if not total:
        return {"values": {}, "other": 1.0}
    alphabetical = np.argsort(np.array(vocab, dtype=np.str_), kind="stable")
    order = alphabetical[np.argsort(-counts[alphabetical], kind="stable")]
    top = [int(i) for i in order[:TF_STORED_VALUES] if counts[i] >= 2]
    listed = {vocab[i]: float(f"{counts[i] / total:.6g}") for i in top}
    rest_values = len(vocab) - len(top)
    rest_records = total - int(counts[top].sum()) if top else total
    other = rest_records / total / rest_values if rest_values and rest_records else 1.0 / total
    return {"values": listed, "other": float(f"{other:.6g}")}


def train(
    records: Sequence[dict[str, str]],
    *,
    seed: int,
    u_pairs: int = 500_000,
    em_pairs: int = 1_000_000,
    iterations: int = 40,
    table: RecordTable | None = None,
    blocked: tuple[np.ndarray, np.ndarray] | None = None,
) -> Model:
    """Estimate u from random pairs and m by EM sessions; reproducible from ``seed``."""
    n = len(records)
    rng = np.random.default_rng(seed)
    table = table or RecordTable.build(records)
    # u: how often each level occurs between two random records.
    sample = min(u_pairs, max(n * (n - 1) // 2, 1))
    ia = rng.integers(0, max(n, 1), sample)
    ib = rng.integers(0, max(n, 1), sample)
    keep = ia != ib
    random_levels = compare(table, ia[keep], ib[keep]) if n > 1 else np.zeros((0, len(FIELDS)), np.int8)
    u = _frequencies(random_levels, None, smoothing=0.5)

    def sampled(pairs: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, float]:
        """Comparison levels of at most ``em_pairs`` of the pairs, and the sampling factor."""
        a, b = pairs
        factor = 1.0
        if len(a) > em_pairs:
            chosen = np.sort(rng.choice(len(a), em_pairs, replace=False))
            factor = len(a) / em_pairs
            a, b = a[chosen], b[chosen]
        levels = compare(table, a, b) if len(a) else np.zeros((0, len(FIELDS)), np.int8)
        return levels, factor

    # m: one EM session per rule; a field's m is the mean over the sessions that learnt it.
    template = _template_m()
    learnt: dict[str, list[list[float]]] = {name: [] for name in FIELDS}
    sessions: list[dict[str, Any]] = []
    for names in EM_SESSIONS:
        levels, _ = sampled(_session_pairs(table, names, max_block=200))
        if len(levels) < 10:
            continue
        active = [c for c, name in enumerate(FIELDS) if name not in names]
        session_m, posterior, done = _em(levels, template, u, active, iterations=iterations)
        sessions.append(
            {
                "fields": list(names),
                "pairs": len(levels),
                "iterations": done,
                "matches": round(float(posterior.sum()), 2),
            }
        )
        for column in active:
            learnt[FIELDS[column]].append(session_m[FIELDS[column]])
    m = {
        name: [float(x) for x in np.mean(learnt[name], axis=0)] if learnt[name] else template[name]
        for name in FIELDS
    }
    # The prior: the expected share of matches among the blocked pairs (EM on that share
    # alone, m and u held), spread over all pairs, assuming blocking finds nearly all matches.
    levels, factor = sampled(blocked if blocked is not None else block_pairs(records, table=table))
    expected_matches = 1.0
    if len(levels):
        _, posterior, _ = _em(levels, m, u, range(len(FIELDS)), iterations=iterations, learn_m=False)
        expected_matches = max(float(posterior.sum()) * factor, 1.0)
    all_pairs = max(n * (n - 1) / 2, 1.0)
    prior = min(max(expected_matches / all_pairs, 1e-12), 0.5)
    return Model(
        m=_rounded(m),
        u=_rounded(u),
        tf={name: term_frequencies(table, name) for name in TF_FIELDS},
        prior=float(f"{prior:.6g}"),
        summary={
            "records": n,
            "random_pairs": int(keep.sum()),
            "blocked_pairs": len(levels),
            "em_sessions": sessions,
            "expected_matches": round(expected_matches, 2),
        },
    )


def _rounded(values: dict[str, list[float]]) -> dict[str, list[float]]:
    # Stored as JSON; rounding keeps the stored text short and identical across runs.
    return {k: [float(f"{x:.8g}") for x in v] for k, v in values.items()}


def score_pairs(
    model: Model, table: RecordTable, ia: np.ndarray, ib: np.ndarray, *, chunk: int = 500_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(levels, weights, probabilities, term-frequency adjustments) for the pairs, in chunks."""
    parts = []
    for start in range(0, len(ia), chunk):
        part_a = ia[start : start + chunk]
        levels = compare(table, part_a, ib[start : start + chunk])
        adjustments = model.term_adjustments(table, part_a, levels)
        weights, probability = model.score(levels, adjustments)
        parts.append((levels, weights, probability, adjustments))
    if not parts:
        return (
            np.zeros((0, len(FIELDS)), np.int8),
            np.zeros(0),
            np.zeros(0),
            np.zeros((0, len(FIELDS))),
        )
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
    )


def iter_chunks(values: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


__all__ = [
    "BLOCKING_RULES",
    "FIELDS",
    "LEVELS",
    "BlockIndex",
    "Model",
    "RecordTable",
    "block_pairs",
    "blocking_keys",
    "compare",
    "nickname_key",
    "profile",
    "score_pairs",
    "train",
]
