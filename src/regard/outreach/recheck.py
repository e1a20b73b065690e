"""Step 3 of a dispatch: just before each hand-over, look for consent, preference, suppression
and erasure changes committed since the claim and, if any touch the message, ask the gate
once more (invariant 2)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from functools import lru_cache

from django.db import connection, transaction

from regard.consent.models import ConsentEvent, PreferenceChange, Suppression
from regard.customers.models import Customer
from regard.db import bulk
from regard.outreach import gate
from regard.outreach.claiming import Prepared, State, reasons_json
from regard.outreach.models import Campaign
from regard.outreach.selectors import message_facts, recipients_load

# Consent writes are short transactions; a change stamped this long before a claim
# may still have committed after it, so the pre-send check looks back this far.
COMMIT_MARGIN = timedelta(seconds=30)


@lru_cache(maxsize=1)
def _changes_sql() -> str:
    consent, preference, suppression, customer = (
        connection.ops.quote_name(model._meta.db_table)
        for model in (ConsentEvent, PreferenceChange, Suppression, Customer)
    )
    return (
        f"SELECT customer_id, '' FROM {consent} WHERE recorded_at >= %s"  # nosec B608 # SQL names from model metadata, values as parameters
        f" UNION ALL SELECT customer_id, '' FROM {preference} WHERE recorded_at >= %s"
        f" UNION ALL SELECT NULL, identifier_hash FROM {suppression} WHERE created_at >= %s"
        # Art. 17: an erasure committed mid-batch stops the person's claimed messages too.
        f" UNION ALL SELECT id, '' FROM {customer} WHERE erased_at >= %s"
    )


def changed_since(since: datetime) -> tuple[set[int], set[str]]:
    """Customers whose consent or preferences changed or who were erased, and addresses
    suppressed, since ``since``.

    Asked before every hand-over (invariant 2), so it is one indexed query.
    """
    found = bulk.fetch_prepared(_changes_sql(), [since] * 4)
    return {c for c, _ in found if c is not None}, {h for _, h in found if h}


def still_allowed(item: Prepared, *, now: datetime, policy: gate.Policy) -> bool:
    """Ask the gate again for one claimed message, against what has committed since (invariant 2)."""
    row = item.row
    with transaction.atomic():
        fresh = recipients_load([row.customer_id], now=now, content_keys=[row.content_key])[row.customer_id]
        campaign = Campaign.objects.filter(pk=row.campaign_id).first() if row.campaign_id else None
        # This row itself is SENDING and so in the history; judge it as if it were not.
        history = tuple(
            c for c in fresh.state.history if c.content_key != row.content_key or c.sent_at != row.claimed_at
        )
        state = dataclasses.replace(fresh.state, history=history)
        decision = gate.decide(message_facts(row, campaign), state, now, policy)
        if decision.allowed:
            return True
        row.gate_outcome, row.gate_reasons = decision.outcome.value, reasons_json(decision)
        if decision.outcome is gate.Outcome.HOLD and decision.hold_until:
            row.state, row.due_at = State.PENDING, decision.hold_until
        else:
            row.state = State.DROPPED
        row.attempts -= 1
        row.save(update_fields=["state", "due_at", "gate_outcome", "gate_reasons", "attempts"])
    return False
