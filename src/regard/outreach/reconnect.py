"""Surviving a lost database connection in the middle of a send (a PostgreSQL restart, a
failover, an administrator ending sessions).

Once the relay has accepted messages, what the dispatcher knows about them lives only in
its memory until it is recorded. Giving up on a lost connection would leave those rows in
SENDING until their lease ran out, and then marketing mail would be counted uncertain and
service mail sent a second time. So the dispatcher waits for the database to answer again
and records what it knows (invariant 3).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from django.db import DatabaseError, connection

log = logging.getLogger(__name__)

T = TypeVar("T")

# A restart usually takes a few seconds; this is how long the dispatcher waits in all. Well
# inside the outbox lease (REGARD_OUTBOX_LEASE_SECONDS), so no other worker takes the rows
# for a dead one's meanwhile.
WAIT_SECONDS = 30.0
# A connection that breaks again each time it is back is not a restart; stop after this many.
ROUNDS = 5
_LOST = (DatabaseError, psycopg.Error)


def _usable() -> bool:
    return connection.connection is not None and connection.is_usable()


def reconnect() -> None:
    """Drop the broken connection and wait for one that answers.

    A pooled connection opened before the break is just as dead, and the pool only learns
    so when it is used: each failed try hands one back to be thrown away.
    """
    deadline = time.monotonic() + WAIT_SECONDS
    attempt = 0
    while True:
        attempt += 1
        connection.close()
        try:
            connection.ensure_connection()
            if connection.is_usable():
                return
        except _LOST as error:
            log.warning("database still unreachable (try %d): %s", attempt, error)
        if time.monotonic() >= deadline:
            break
        time.sleep(min(0.05 * 2**attempt, 1.0))
    raise ConnectionError("the database did not answer again")


def surviving_lost_connection(call: Callable[[], T]) -> T:
    """Run ``call``; when it fails because the connection was lost, reconnect and run it again.

    ``call`` must be safe to run again after a failed run, including one whose COMMIT
    reached the server but whose reply did not. Any other database error is raised as it
    is, as is a lost connection inside a transaction opened outside ``call``.
    """
    for _ in range(ROUNDS - 1):
        try:
            return call()
        except _LOST:
            if connection.in_atomic_block or _usable():
                raise
            log.warning("database connection lost; reconnecting", exc_info=True)
            reconnect()
    return call()
