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

from regard.matching.engine.blocking import BLOCKING_RULES, MAX_BLOCK, BlockIndex, block_pairs, blocking_keys
from regard.matching.engine.cleaning import (
    FIELDS,
    LEVELS,
    clean_date,
    clean_postcode,
    clean_text,
    house_number,
    mailbox,
    profile,
)
from regard.matching.engine.columns import RecordTable
from regard.matching.engine.comparison import DistinctPairs, compare
from regard.matching.engine.model import (
    EM_SESSIONS,
    TF_FIELDS,
    TF_STORED_VALUES,
    Model,
    iter_chunks,
    score_pairs,
    term_frequencies,
    train,
)
from regard.matching.nicknames import nickname_key

__all__ = [
    "BLOCKING_RULES",
    "EM_SESSIONS",
    "FIELDS",
    "LEVELS",
    "MAX_BLOCK",
    "TF_FIELDS",
    "TF_STORED_VALUES",
    "BlockIndex",
    "DistinctPairs",
    "Model",
    "RecordTable",
    "block_pairs",
    "blocking_keys",
    "clean_date",
    "clean_postcode",
    "clean_text",
    "compare",
    "house_number",
    "iter_chunks",
    "mailbox",
    "nickname_key",
    "profile",
    "score_pairs",
    "term_frequencies",
    "train",
]
