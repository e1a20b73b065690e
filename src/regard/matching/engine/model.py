"""The Fellegi–Sunter model: u from random pairs, m by expectation–maximisation, match weights."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regard.matching.engine.blocking import block_pairs, pairs_within_groups
from regard.matching.engine.cleaning import FIELDS, LEVELS, M_TEMPLATE
from regard.matching.engine.columns import RecordTable
from regard.matching.engine.comparison import compare


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
        head = list(M_TEMPLATE.get(count, (0.8, 0.1, 0.05, 0.03, 0.01)))[:count]
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
    pairs = pairs_within_groups(code[owners], max_block)
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
