"""The outbox dispatcher: the one path by which anything is sent (invariants 1–3).

1. Claim due rows (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
   ``BEGIN IMMEDIATE`` makes the claim single-writer there).
2. Inside that transaction, ask the gate again against committed state (S13), render,
   sign, and mark the row SENDING before anything leaves the machine: a crash after
   this point can never lead to a second delivery of a marketing message.
3. Just before each hand-over, look for consent/preference/suppression changes that
   committed since the claim and, if any, ask the gate once more (invariant 2).
4. Hand over through the sender with the gate's clearance; record the result.

Each step has its module: ``claiming`` (1–2, and rows a dead worker left), ``envelope``
(the message a row becomes), ``recheck`` (3), ``recording`` (4). This one runs them, batch
after batch, and is the only one that opens a connection to the relay.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TypeVar

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_tasks import task

from regard.outreach import gate, reconnect
from regard.outreach.claiming import CLAIM_FIELDS, DispatchStats, Prepared, claim, lease, recover_stale
from regard.outreach.models import Campaign, OutboxMessage
from regard.outreach.recheck import COMMIT_MARGIN, changed_since, still_allowed
from regard.outreach.recording import MAX_ATTEMPTS, backoff, results_record
from regard.outreach.selectors import settings_policy
from regard.outreach.sender import Outcome_ as SendOutcome
from regard.outreach.sender import Relay, SmtpSender

T = TypeVar("T")

__all__ = [
    "COMMIT_MARGIN",
    "MAX_ATTEMPTS",
    "DispatchStats",
    "Prepared",
    "backoff",
    "campaigns_finish",
    "claim",
    "dispatch_batch",
    "dispatch_due",
    "dispatch_until_idle",
    "lease",
    "recover_stale",
]


def dispatch_batch(
    *, sender: SmtpSender, limit: int = 200, now: datetime | None = None, policy: gate.Policy | None = None
) -> DispatchStats:
    """Claim, gate, send and record one batch of due messages."""
    stats = DispatchStats()
    started = time.monotonic()
    now = now or timezone.now()
    recover_stale(now=now)
    policy = policy or settings_policy()
    prepared = claim(now=now, limit=limit, stats=stats, policy=policy)
    if not prepared:
        return stats
    # Past half the lease, hand nothing more over: another worker may soon take these rows for dead.
    hand_over_until = started + lease().total_seconds() / 2
    since = now - COMMIT_MARGIN
    results: list[tuple[Prepared, SendOutcome]] = []
    unsent: list[Prepared] = []
    for index, item in enumerate(prepared):
        if time.monotonic() >= hand_over_until:
            unsent = prepared[index:]
            break
        if _again_if_connection_lost(
            partial(_stopped_before_send, item, since=since, policy=policy), [item.row], stats
        ):
            stats.counts["stopped_before_send"] += 1
            continue
        results.append((item, sender.send(item.envelope, clearance=item.clearance)))
    recorded_at = timezone.now()
    handed = [p.row for p, _ in results] + [p.row for p in unsent]
    reruns: list[bool] = []

    def record_once() -> None:
        # A lost COMMIT reply: the rows already left SENDING, so the record stands.
        if (
            reruns
            and not OutboxMessage.objects.filter(
                pk__in=[r.pk for r in handed], state=OutboxMessage.State.SENDING, claimed_at=now
            ).exists()
        ):
            return
        reruns.append(True)
        results_record(results, unsent, now=recorded_at, stats=stats)

    _again_if_connection_lost(record_once, handed, stats)
    return stats


def _stopped_before_send(item: Prepared, *, since: datetime, policy: gate.Policy) -> bool:
    changed_customers, changed_hashes = changed_since(since)
    return (
        item.row.customer_id in changed_customers or item.address_hash in changed_hashes
    ) and not still_allowed(item, now=timezone.now(), policy=policy)


_REWRITTEN = [*CLAIM_FIELDS, "last_error", "smtp_code", "was_uncertain"]


def _again_if_connection_lost(call: Callable[[], T], rows: list[OutboxMessage], stats: DispatchStats) -> T:
    """Run ``call``; if the database connection is lost (a restart), reconnect and run it again,
    from the rows and counts as they were before the failed run.

    The relay has accepted some messages by now: giving up would leave their rows in SENDING
    until the lease ran out, marketing then counted uncertain and service mail sent twice.
    """
    saved = [(row, {name: getattr(row, name) for name in _REWRITTEN}) for row in rows]
    counts = stats.counts.copy()

    def run() -> T:
        for row, values in saved:
            for name, value in values.items():
                setattr(row, name, value)
        stats.counts = counts.copy()
        return call()

    return reconnect.surviving_lost_connection(run)


def campaigns_finish() -> int:
    """Mark running campaigns done once nothing of theirs waits to go out; answers how many.

    A message held by the gate until later (quiet hours, caps) is still pending, so its
    campaign keeps running; one held for a person (missing data) does not keep it open.
    """
    waiting = OutboxMessage.objects.filter(
        campaign=OuterRef("pk"), state__in=(OutboxMessage.State.PENDING, OutboxMessage.State.SENDING)
    )
    return (
        Campaign.objects.filter(state=Campaign.State.RUNNING)
        .exclude(Exists(waiting))
        .update(state=Campaign.State.DONE)
    )


def dispatch_until_idle(
    *, sender: SmtpSender | None = None, limit: int = 200, max_batches: int = 1_000_000
) -> Counter[str]:
    """Send everything that is due now, batch after batch, over one relay connection.

    The one dispatch loop: the ``dispatch_due`` task and ``regard dispatch`` both run it.
    Once nothing is due, campaigns with nothing left to send are marked done.
    """
    total: Counter[str] = Counter()
    own_sender = sender is None
    sender = sender or SmtpSender(Relay.from_url(settings.REGARD_SMTP_RELAY))
    try:
        for _ in range(max_batches):
            stats = dispatch_batch(sender=sender, limit=limit)
            total.update(stats.counts)
            if not stats.counts["claimed"]:
                total["campaigns_finished"] += campaigns_finish()
                break
    finally:
        if own_sender:
            sender.close()
    return total


@task()
def dispatch_due() -> dict[str, int]:
    """Send what is due now; enqueued after commit whenever the outbox gains rows."""
    return dict(dispatch_until_idle(max_batches=50))
