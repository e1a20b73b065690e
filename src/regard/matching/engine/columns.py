"""Records as numpy columns: factorised values, hashes and what each comparison derives from them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from regard.matching.engine.cleaning import FIELDS, house_number, mailbox
from regard.matching.nicknames import NICKNAME_GROUPS


def _factorize(column: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Codes (first appearance order, "" → -1) and the distinct non-empty values."""
    position: dict[str, int] = dict.fromkeys(column, 0)
    position.pop("", None)
    distinct = list(position)
    position = dict(zip(distinct, range(len(distinct)), strict=True))  # C loops, no Python frames
    position[""] = -1
    codes = np.fromiter(map(position.__getitem__, column), dtype=np.int64, count=len(column))
    return codes, distinct


GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_PRIME = np.uint64(0x100000001B3)


def mix(x: np.ndarray) -> np.ndarray:
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
    return mix(h ^ GOLDEN)


def string_hashes(values: Sequence[str], prefixes: Sequence[int] = ()) -> dict[int, np.ndarray]:
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
    return string_hashes(table.vocab[name], (1, 2, 3))


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
