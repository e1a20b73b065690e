"""The last mirrors this process computed, served again only while every row they read is unchanged.

A mirror is a function of its period and of the rows it reads: the merge group's profiles,
outbox rows, preference changes, consent events, feedback mail, promises, identifiers,
conversations with their messages and surveys, and the teams' calendars and SLA policies
(their working time and targets). On PostgreSQL one query fingerprints all of them: per
table, an md5 over every such row's id and ``xmin`` (the transaction that wrote its current
version), so an insert, an update, a delete or a row moved by a merge changes the key. The
period is part of the key, and a period that has not ended yet is never cached (its open
waits still grow), nor is one read inside a transaction that has written. Elsewhere
(SQLite) nothing is cached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection

from regard.consent.models import ConsentEvent, PreferenceChange
from regard.customers.models import Customer, Identifier
from regard.outreach.models import InboundFeedback, OutboxMessage
from regard.policies.models import Promise
from regard.support.models import Conversation, Message, SatisfactionSurvey, SlaPolicy, Team

KEPT = 64
T = TypeVar("T")


def _fingerprint_sql() -> str:
    def rows(table: str, where: str) -> str:
        return (
            f"(SELECT md5(coalesce(string_agg(t.id::text || ':' || t.xmin::text, ',' ORDER BY t.id), ''))"  # nosec B608 # table names from the models, values as parameters
            f" FROM {table} t WHERE {where})"
        )

    conversations = f"SELECT id FROM {Conversation._meta.db_table} WHERE customer_id = ANY(%(group)s)"  # nosec B608 # as above
    parts = [
        rows(Customer._meta.db_table, "t.id = ANY(%(group)s) OR t.merged_into_id = ANY(%(group)s)"),
        *(
            rows(model._meta.db_table, "t.customer_id = ANY(%(group)s)")
            for model in (
                OutboxMessage,
                PreferenceChange,
                ConsentEvent,
                InboundFeedback,
                Promise,
                Identifier,
                Conversation,
            )
        ),
        rows(Message._meta.db_table, f"t.conversation_id IN ({conversations})"),
        rows(SatisfactionSurvey._meta.db_table, f"t.conversation_id IN ({conversations})"),
        rows(Team._meta.db_table, "TRUE"),
        rows(SlaPolicy._meta.db_table, "TRUE"),
    ]
    # A transaction that wrote already sees its own rows under its own xmin: nothing is cached there.
    return "SELECT txid_current_if_assigned() IS NOT NULL, " + ", ".join(parts)


_SQL: str | None = None


def fingerprint(group: list[int]) -> tuple[str, ...] | None:
    """What the merge group's rows are now, in one query; None where it cannot be known (SQLite)."""
    global _SQL
    if connection.vendor != "postgresql":
        return None
    if _SQL is None:
        _SQL = _fingerprint_sql()
    with connection.cursor() as cursor:
        cursor.execute(_SQL, {"group": list(group)})
        row = cursor.fetchone()
    if row is None or row[0]:
        return None
    return tuple(row[1:])


class Remembered:
    """A small per-process LRU of computed mirrors, keyed by group, period and fingerprint."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: T) -> T:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._kept:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


remembered = Remembered()


def cache_key(
    group: list[int], since: datetime, until: datetime, now: datetime, time_zone: str
) -> tuple[Any, ...] | None:
    """The key for a mirror, or None when it must be computed: a period still running, or no fingerprint."""
    if until > now:
        return None
    rows = fingerprint(group)
    if rows is None:
        return None
    return (tuple(group), since, until, time_zone, rows)
