"""Step 4 of a dispatch: record what the relay answered for each message handed over.

Sent rows are marked in one statement and put on the customers' timelines in another
(``timeline_append_many``: COPY on PostgreSQL); the rest are retried, failed, or counted
as uncertain, and a refused address is suppressed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from regard.customers.services import TimelineEntry, timeline_append_many
from regard.db import bulk
from regard.outreach.claiming import DispatchStats, Prepared, State
from regard.outreach.models import OutboxMessage
from regard.outreach.sender import Outcome_ as SendOutcome
from regard.outreach.sender import Result

MAX_ATTEMPTS = 8


def backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=1) * 2 ** max(attempts - 1, 0), timedelta(hours=6))


def sent_entry(row: OutboxMessage) -> TimelineEntry:
    """The timeline event of a message the relay took."""
    return TimelineEntry(
        customer_id=row.customer_id,
        kind="message.sent",
        channel=row.channel,
        summary=f"{row.kind.capitalize()} message sent ({row.purpose})",
        subject_model=OutboxMessage,
        subject_id=row.pk,
        data={"message_id": row.message_id, "campaign": row.campaign_id},
    )


def results_record(
    results: list[tuple[Prepared, SendOutcome]],
    unsent: list[Prepared],
    *,
    now: datetime,
    stats: DispatchStats,
) -> None:
    from regard.consent.services import suppression_add

    sent = [p.row for p, outcome in results if outcome.result is Result.SENT]
    with transaction.atomic():
        if sent:
            OutboxMessage.objects.filter(pk__in=bulk.one_of([row.pk for row in sent])).update(
                state=State.SENT, sent_at=now, smtp_code=250
            )
            timeline_append_many(entries=map(sent_entry, sent), now=now)
            stats.counts["sent"] += len(sent)
        if unsent:
            # Never handed over: back to the queue as if never claimed.
            for item in unsent:
                item.row.state, item.row.due_at, item.row.attempts = State.PENDING, now, item.row.attempts - 1
            bulk.update([i.row for i in unsent], ["state", "due_at", "attempts"])
            stats.counts["put_back"] += len(unsent)
        for item, outcome in results:
            row = item.row
            if outcome.result is Result.SENT:
                continue
            row.last_error, row.smtp_code = outcome.detail[:500], outcome.code
            if outcome.result is Result.RETRY:
                if row.attempts >= MAX_ATTEMPTS:
                    row.state = State.FAILED
                    stats.counts["failed"] += 1
                else:
                    row.state, row.due_at = State.PENDING, now + backoff(row.attempts)
                    stats.counts["retried"] += 1
            elif outcome.result is Result.FAILED:
                row.state = State.FAILED
                stats.counts["failed"] += 1
                if outcome.is_recipient_refused and row.to_address:
                    suppression_add(
                        actor=None,
                        kind="email",
                        normalised_value=row.to_address,
                        reason="hard_bounce",
                        detail={"smtp_code": outcome.code, "message_id": row.message_id},
                        now=now,
                    )
            else:  # uncertain: counted, shown, and never resent if it was marketing
                row.was_uncertain = True
                stats.counts["uncertain"] += 1
                if row.is_marketing:
                    row.state = State.UNCERTAIN
                else:
                    row.state, row.due_at = State.PENDING, now + backoff(row.attempts)
            row.save(update_fields=["state", "due_at", "last_error", "smtp_code", "was_uncertain"])
