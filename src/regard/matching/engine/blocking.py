"""Blocking: which pairs are compared at all, by rules whose keys are also stored in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from regard.matching.engine.columns import GOLDEN, RecordTable, mix, string_hashes

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
    h = mix(np.uint64(((rule + 1) * int(GOLDEN)) & 0xFFFFFFFFFFFFFFFF) ^ first)
    if second is not None:
        h = mix(h ^ (second * np.uint64(0xFF51AFD7ED558CCD)))
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
    box_hash = string_hashes(boxes)[0]
    box_long = np.array([len(b) >= 4 for b in boxes], dtype=bool)
    record_box = np.where(
        email_codes >= 0, box_codes[np.maximum(email_codes, 0)] if len(box_codes) else -1, -1
    )
    has_box = record_box >= 0
    has_box[has_box] &= box_long[record_box[has_box]]

    phone_codes = table.codes["phone"]
    tail_codes, tails = table.derived("phone", "tails")
    tail_hash = string_hashes(tails)[0]
    record_tail = np.where(
        phone_codes >= 0, tail_codes[np.maximum(phone_codes, 0)] if len(tail_codes) else -1, -1
    )
    has_tail = record_tail >= 0

    number_codes, numbers = table.derived("street", "house_numbers")
    number_hash = string_hashes(numbers)[0]
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


def pairs_within_groups(codes: np.ndarray, max_block: int) -> np.ndarray:
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
        pairs = pairs_within_groups(hashes, max_block)
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
