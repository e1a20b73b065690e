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

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from rapidfuzz.distance import OSA, JaroWinkler
from rapidfuzz.process import cpdist

from regard.matching.nicknames import are_nicknames, nickname_key

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
    local = email.split("@", 1)[0].split("+", 1)[0]
    return local.replace(".", "").replace("_", "").replace("-", "")


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
)


def blocking_keys(record: dict[str, str]) -> list[str]:
    """The blocks a record falls in; two records are compared when they share one."""
    given, family = record["given_name"], record["family_name"]
    dob, postcode = record["date_of_birth"], record["postcode"]
    keys: list[str] = []
    if given and family:
        # Sorted, so "Smith John" swapped into the wrong fields still meets "John Smith".
        first, second = sorted((given[:3], family[:3]))
        keys.append(f"0:{first}|{second}")
    if dob and given:
        keys.append(f"1:{dob}|{given[0]}")
    if dob and family:
        keys.append(f"2:{dob}|{family[0]}")
    if postcode and given:
        keys.append(f"3:{postcode}|{given[0]}")
    if postcode and family:
        keys.append(f"4:{postcode}|{family[0]}")
    if record["email"]:
        box = mailbox(record["email"])
        if len(box) >= 4:
            keys.append(f"5:{box}")
    if len(record["phone"]) >= 7:
        keys.append(f"6:{record['phone'][-7:]}")
    if family and record["locality"]:
        keys.append(f"7:{family}|{record['locality']}")
    # Names can be missing or mangled in both records: address and birth date still meet.
    street = record["street"]
    if dob and postcode:
        keys.append(f"8:{dob}|{postcode}")
    if street and postcode:
        keys.append(f"9:{street}|{postcode}")
    if street and family:
        keys.append(f"10:{street}|{family[:2]}")
    return keys


def key_hash(key: str) -> int:
    """A stable signed 64-bit hash of a blocking key (stored in MatchKey)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def _pairs_within_groups(codes: np.ndarray, max_block: int) -> np.ndarray:
    """All (i, j), i < j, of records sharing a code; blocks above ``max_block`` are skipped."""
    order = np.argsort(codes, kind="stable")
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
    def build(cls, records: Sequence[dict[str, str]]) -> BlockIndex:
        rules: list[int] = []
        hashes: list[int] = []
        owners: list[int] = []
        for index, record in enumerate(records):
            for key in blocking_keys(record):
                rule, _ = key.split(":", 1)
                rules.append(int(rule))
                hashes.append(key_hash(key))
                owners.append(index)
        return cls(
            rules=np.array(rules, dtype=np.int64),
            hashes=np.array(hashes, dtype=np.int64),
            owners=np.array(owners, dtype=np.int64),
        )

    def distinct_rows(self) -> np.ndarray:
        """Unique (key hash, record index) rows in record order: the rows of the MatchKey table."""
        order = np.lexsort((self.hashes, self.owners))
        rows = np.stack([self.hashes[order], self.owners[order]], axis=1)
        if len(rows) > 1:
            repeated = (rows[1:] == rows[:-1]).all(axis=1)
            rows = rows[np.r_[True, ~repeated]]
        return rows


def block_pairs(
    records: Sequence[dict[str, str]], *, max_block: int = 500, index: BlockIndex | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (index arrays into ``records``) from every blocking rule, deduplicated."""
    n = len(records)
    index = index or BlockIndex.build(records)
    encoded = []
    for rule in range(len(BLOCKING_RULES)):
        # the entries of one rule, in record order (as they were appended)
        in_rule = np.flatnonzero(index.rules == rule)
        if not len(in_rule):
            continue
        hashes, owners = index.hashes[in_rule], index.owners[in_rule]
        pairs = _pairs_within_groups(hashes, max_block)
        # map positions in this rule back to record indices
        low, high = pairs // len(hashes), pairs % len(hashes)
        a, b = owners[low], owners[high]
        encoded.append(np.minimum(a, b) * n + np.maximum(a, b))
    if not encoded:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    unique = np.unique(np.concatenate(encoded))
    return unique // n, unique % n


# ---------------------------------------------------------------- comparisons


@dataclass
class RecordTable:
    """Records as dictionary-encoded columns, so equal values compare as integers."""

    size: int
    vocab: dict[str, list[str]]
    codes: dict[str, np.ndarray]

    @classmethod
    def build(cls, records: Sequence[dict[str, str]]) -> RecordTable:
        vocab: dict[str, list[str]] = {}
        codes: dict[str, np.ndarray] = {}
        for name in FIELDS:
            index: dict[str, int] = {"": -1}
            column = [index.setdefault(r[name], len(index) - 1) for r in records]
            codes[name] = np.array(column, dtype=np.int64)
            vocab[name] = [v for v in index if v != ""]
        return cls(size=len(records), vocab=vocab, codes=codes)


def _similarity(scorer: Any, a: list[str], b: list[str]) -> np.ndarray:
    if not a:
        return np.empty(0, dtype=np.float64)
    return np.asarray(cpdist(a, b, scorer=scorer, workers=1), dtype=np.float64)


def _distinct_pairs(
    table: RecordTable, name: str, ia: np.ndarray, ib: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str], list[str], np.ndarray]:
    """Levels 0 (missing) and 1 (exact) set; the other pairs reduced to distinct value pairs.

    Returns (levels, positions still to grade, values a, values b, inverse) where the
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
    words = table.vocab[name]
    a = [words[i] for i in (distinct // width).tolist()]
    b = [words[i] for i in (distinct % width).tolist()]
    return levels, rest, a, b, inverse.reshape(-1)


def _grade(similarity: np.ndarray, thresholds: Sequence[float], first_level: int) -> np.ndarray:
    """Similarity → level: ≥ thresholds[0] → first_level, …; below all → the next level."""
    graded = np.full(len(similarity), first_level + len(thresholds), dtype=np.int8)
    for offset in range(len(thresholds) - 1, -1, -1):
        graded[similarity >= thresholds[offset]] = first_level + offset
    return graded


def _given_levels(a: list[str], b: list[str]) -> np.ndarray:
    similarity = _similarity(JaroWinkler.normalized_similarity, a, b)
    levels = _grade(similarity, (0.92, 0.80), 3)  # 3, 4; else 5 (6 'different' after swap check)
    levels[levels == 5] = 6
    nick = np.array(
        [
            are_nicknames(x, y) or (min(len(x), len(y)) >= 3 and (x.startswith(y) or y.startswith(x)))
            for x, y in zip(a, b, strict=True)
        ],
        dtype=bool,
    )
    levels[nick] = 2
    return levels


def _family_levels(a: list[str], b: list[str]) -> np.ndarray:
    levels = _grade(_similarity(JaroWinkler.normalized_similarity, a, b), (0.92, 0.80), 2)
    levels[levels == 4] = 5  # 4 is 'swapped', set by the cross-field check
    return levels


def _date_levels(a: list[str], b: list[str]) -> np.ndarray:
    distance = _similarity(OSA.distance, a, b)
    levels = np.where(distance <= 1, 2, np.where(distance <= 2, 3, 4)).astype(np.int8)
    swapped = np.array(
        [x[:4] == y[:4] and x[4:6] == y[6:8] and x[6:8] == y[4:6] for x, y in zip(a, b, strict=True)],
        dtype=bool,
    )
    levels[swapped] = 2
    return levels


def _street_levels(a: list[str], b: list[str]) -> np.ndarray:
    return _grade(_similarity(JaroWinkler.normalized_similarity, a, b), (0.90, 0.75), 2)


def _locality_levels(a: list[str], b: list[str]) -> np.ndarray:
    return _grade(_similarity(JaroWinkler.normalized_similarity, a, b), (0.88,), 2)


def _one_typo_levels(a: list[str], b: list[str]) -> np.ndarray:
    return np.where(_similarity(OSA.distance, a, b) <= 1, 2, 3).astype(np.int8)


def _email_levels(a: list[str], b: list[str]) -> np.ndarray:
    box_a, box_b = [mailbox(x) for x in a], [mailbox(y) for y in b]
    similar = _similarity(JaroWinkler.normalized_similarity, box_a, box_b)
    levels = np.where(similar >= 0.88, 3, 4).astype(np.int8)
    same = np.array([x == y and len(x) >= 3 for x, y in zip(box_a, box_b, strict=True)], dtype=bool)
    levels[same] = 2
    return levels


def _phone_levels(a: list[str], b: list[str]) -> np.ndarray:
    levels = np.where(_similarity(OSA.distance, a, b) <= 1, 3, 4).astype(np.int8)
    tail = np.array([len(x) >= 7 and x[-7:] == y[-7:] for x, y in zip(a, b, strict=True)], dtype=bool)
    levels[tail] = 2
    return levels


_LEVEL_FUNCTIONS = {
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
    given, family = table.vocab["given_name"], table.vocab["family_name"]
    ga, gb = table.codes["given_name"][ia[candidates]], table.codes["given_name"][ib[candidates]]
    fa, fb = table.codes["family_name"][ia[candidates]], table.codes["family_name"][ib[candidates]]
    cross_1 = _similarity(
        JaroWinkler.normalized_similarity,
        [given[i] for i in ga.tolist()],
        [family[i] for i in fb.tolist()],
    )
    cross_2 = _similarity(
        JaroWinkler.normalized_similarity,
        [family[i] for i in fa.tolist()],
        [given[i] for i in gb.tolist()],
    )
    swapped = candidates[(cross_1 >= 0.92) & (cross_2 >= 0.92)]
    out[swapped, _GIVEN] = _SWAPPED["given_name"]
    out[swapped, _FAMILY] = _SWAPPED["family_name"]


def compare(table: RecordTable, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Comparison levels, shape (pairs, fields), for the record pairs (ia[k], ib[k])."""
    out = np.zeros((len(ia), len(FIELDS)), dtype=np.int8)
    for column, name in enumerate(FIELDS):
        levels, rest, a, b, inverse = _distinct_pairs(table, name, ia, ib)
        if a:
            levels[rest] = _LEVEL_FUNCTIONS[name](a, b)[inverse]
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
    _weights: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"m": self.m, "u": self.u, "prior": self.prior, "summary": self.summary}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        return cls(m=data["m"], u=data["u"], prior=data["prior"], summary=data.get("summary", {}))

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

    def score(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(match weight, match probability) per pair."""
        table = self.weight_table()
        columns = np.arange(len(FIELDS))
        weights = table[columns, levels.astype(np.int64)].sum(axis=1) + self.prior_weight
        probability = 1.0 / (1.0 + np.exp2(-np.clip(weights, -60, 60)))
        return weights, probability

    def explain(self, levels: Sequence[int] | np.ndarray) -> dict[str, Any]:
        """The waterfall: prior, then each field's level and its weight."""
        table = self.weight_table()
        steps = []
        for column, name in enumerate(FIELDS):
            level = int(levels[column])
            steps.append(
                {
                    "field": name,
                    "level": LEVELS[name][level - 1] if level else "missing",
                    "weight": round(float(table[column, level]), 3),
                }
            )
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


def train(
    records: Sequence[dict[str, str]],
    *,
    seed: int,
    u_pairs: int = 500_000,
    em_pairs: int = 2_000_000,
    iterations: int = 40,
    table: RecordTable | None = None,
    blocked: tuple[np.ndarray, np.ndarray] | None = None,
) -> Model:
    """Estimate u from random pairs and m by EM over blocked pairs; reproducible from ``seed``."""
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

    # m: EM over the blocked pairs (u re-estimated inside the blocked set, m kept).
    ba, bb = blocked if blocked is not None else block_pairs(records)
    if len(ba) > em_pairs:
        chosen = np.sort(rng.choice(len(ba), em_pairs, replace=False))
        ba, bb = ba[chosen], bb[chosen]
    levels = compare(table, ba, bb) if len(ba) else np.zeros((0, len(FIELDS)), np.int8)
    m = _template_m()
    u_blocked = {k: list(v) for k, v in u.items()}
    share = 0.1
    columns = np.arange(len(FIELDS))
    width = max(len(v) for v in LEVELS.values()) + 1
    posterior = np.zeros(len(levels))
    done = 0
    for done in range(1, iterations + 1):  # noqa: B007 - reported in the summary
        if not len(levels):
            break
        log_m, log_u = np.zeros((len(FIELDS), width)), np.zeros((len(FIELDS), width))
        for column, name in enumerate(FIELDS):
            for level in range(1, len(LEVELS[name]) + 1):
                log_m[column, level] = math.log(max(m[name][level], 1e-12))
                log_u[column, level] = math.log(max(u_blocked[name][level], 1e-12))
        index = levels.astype(np.int64)
        logit = math.log(share / (1 - share)) + (log_m[columns, index] - log_u[columns, index]).sum(axis=1)
        updated = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        m = _frequencies(levels, updated, smoothing=1e-3)
        u_blocked = _frequencies(levels, 1.0 - updated, smoothing=1e-3)
        share = float(np.clip(updated.mean(), 1e-6, 1 - 1e-6))
        converged = np.abs(updated - posterior).max() < 1e-5
        posterior = updated
        if converged:
            break
    expected_matches = float(posterior.sum()) if len(levels) else 1.0
    all_pairs = max(n * (n - 1) / 2, 1.0)
    # Expected matches among all pairs, assuming blocking finds (nearly) all of them.
    prior = min(max(expected_matches / all_pairs, 1e-12), 0.5)
    if len(levels) < 10:
        m = _template_m()
    return Model(
        m=_rounded(m),
        u=_rounded(u),
        prior=float(f"{prior:.6g}"),
        summary={
            "records": n,
            "random_pairs": int(keep.sum()),
            "blocked_pairs": len(levels),
            "em_iterations": done,
            "expected_matches": round(expected_matches, 2),
        },
    )


def _rounded(values: dict[str, list[float]]) -> dict[str, list[float]]:
    # Stored as JSON; rounding keeps the stored text short and identical across runs.
    return {k: [float(f"{x:.8g}") for x in v] for k, v in values.items()}


def score_pairs(
    model: Model, table: RecordTable, ia: np.ndarray, ib: np.ndarray, *, chunk: int = 500_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(levels, weights, probabilities) for the pairs, in chunks to bound memory."""
    parts = []
    for start in range(0, len(ia), chunk):
        levels = compare(table, ia[start : start + chunk], ib[start : start + chunk])
        weights, probability = model.score(levels)
        parts.append((levels, weights, probability))
    if not parts:
        return np.zeros((0, len(FIELDS)), np.int8), np.zeros(0), np.zeros(0)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
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
    "key_hash",
    "nickname_key",
    "profile",
    "score_pairs",
    "train",
]
