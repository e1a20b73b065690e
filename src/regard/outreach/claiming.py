"""Steps 1–2 of a dispatch: claim due rows and ask the gate again inside the claim (S13).

A row the gate lets through is rendered, signed and marked SENDING before anything leaves
the machine, so a crash after this point can never lead to a second delivery of a
marketing message. Rows a dead worker left in SENDING are recovered here too.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from regard.consent.hashing import identifier_hash
from regard.consent.selectors import suppressed_hashes
from regard.customers.models import Identifier
from regard.db import bulk
from regard.outreach import brake, dkim_keys, gate, journeys, mime
from regard.outreach.envelope import envelope_build
from regard.outreach.models import Campaign, Journey, OutboxMessage
from regard.outreach.render import MissingData
from regard.outreach.selectors import Recipient, message_facts, recipients_load, settings_policy
from regard.outreach.sender import Clearance

State = OutboxMessage.State


@dataclass
class Prepared:
    row: OutboxMessage
    recipient: Recipient
    envelope: mime.Envelope
    clearance: Clearance
    address_hash: str


@dataclass
class DispatchStats:
    counts: Counter[str] = dataclasses.field(default_factory=Counter)
    # Journey rows the gate dropped because the person wants none of it: they leave the journey.
    leaving_journeys: list[OutboxMessage] = dataclasses.field(default_factory=list)

    def __getitem__(self, key: str) -> int:
        return self.counts[key]


def reasons_json(decision: gate.Decision) -> list[dict[str, Any]]:
    return [
        {"code": r.code, "detail": r.detail, **({"until": r.until.isoformat()} if r.until else {})}
        for r in decision.reasons
    ]


def lease() -> timedelta:
    """How long a worker may hold claimed rows; after that they count as left by a dead worker."""
    return timedelta(seconds=settings.REGARD_OUTBOX_LEASE_SECONDS)


def recover_stale(*, now: datetime) -> int:
    """Rows a dead worker left in SENDING: marketing is never retried, service mail is (same Message-ID).

    A live worker hands nothing over once half its lease is used (``dispatch_batch``), so
    rows past the whole lease belong to a worker that died.
    """
    stale = OutboxMessage.objects.filter(state=State.SENDING, claimed_at__lt=now - lease())
    lost = "worker stopped after claiming; the relay may or may not have it"
    marketing = stale.filter(kind=OutboxMessage.Kind.MARKETING).update(
        state=State.UNCERTAIN, was_uncertain=True, last_error=lost
    )
    service = stale.filter(kind=OutboxMessage.Kind.SERVICE).update(
        state=State.PENDING, due_at=now, was_uncertain=True, last_error=lost
    )
    return marketing + service


def _with_contact(recipient: Recipient, row: OutboxMessage, now: datetime) -> None:
    """Count a claimed message in the person's history so the rest of the batch sees it (S1)."""
    contact = gate.Contact(now, gate.Kind(row.kind), row.purpose, row.channel, row.content_key)
    recipient.state = dataclasses.replace(recipient.state, history=(*recipient.state.history, contact))


def _preferred(row: OutboxMessage, recipient: Recipient) -> Recipient:
    """A service message may name which of the person's own addresses to use (``to_address`` in
    its context: a support reply goes where the customer last wrote from). Any other address is
    ignored; the gate then sees that address's suppression like any other."""
    wanted = str((row.context or {}).get("to_address") or "").strip().lower()
    if row.is_marketing or not wanted or wanted == recipient.address:
        return recipient
    if not Identifier.objects.filter(
        customer_id=row.customer_id, kind="email", value_normalised=wanted
    ).exists():
        return recipient
    reason = suppressed_hashes([identifier_hash(wanted)]).get(identifier_hash(wanted))
    state = dataclasses.replace(recipient.state, has_address=True, suppression_reason=reason)
    return dataclasses.replace(recipient, address=wanted, state=state)


def _decide_and_prepare(
    rows: list[OutboxMessage],
    recipients: dict[int, Recipient],
    campaigns: dict[int, Campaign],
    *,
    now: datetime,
    key: dkim_keys.DkimKey | None,
    policy: gate.Policy,
    stats: DispatchStats,
) -> list[Prepared]:
    prepared: list[Prepared] = []
    for row in rows:
        campaign = campaigns.get(row.campaign_id) if row.campaign_id else None
        shared = recipients[row.customer_id]
        recipient = _preferred(row, shared)
        decision = gate.decide(message_facts(row, campaign), recipient.state, now, policy)
        row.gate_outcome = decision.outcome.value
        row.gate_reasons = reasons_json(decision)
        if decision.outcome is gate.Outcome.DROP:
            row.state = State.DROPPED
            stats.counts["dropped"] += 1
            if row.journey and journeys.LEAVING_REASONS.intersection(decision.codes()):
                stats.leaving_journeys.append(row)
            continue
        if decision.outcome is gate.Outcome.HOLD:
            assert decision.hold_until is not None
            row.state, row.due_at = State.PENDING, decision.hold_until
            stats.counts["held"] += 1
            continue
        if row.channel != "email":
            row.state = State.HELD
            row.gate_reasons = [{"code": "no_sender", "detail": f"no sender for {row.channel} is configured"}]
            stats.counts["held"] += 1
            continue
        row.message_id = row.message_id or mime.message_id_for(row.dedupe_key, settings.REGARD_MAIL_DOMAIN)
        try:
            envelope = envelope_build(row, campaign, recipient, now, key)
        except MissingData as missing:
            row.state = State.HELD
            row.gate_reasons = [{"code": "missing_data", "detail": str(missing)}]
            stats.counts["held"] += 1
            continue
        row.state, row.claimed_at, row.attempts = State.SENDING, now, row.attempts + 1
        row.to_address = recipient.address
        _with_contact(recipient, row, now)
        if recipient is not shared:
            _with_contact(shared, row, now)
        prepared.append(
            Prepared(
                row, recipient, envelope, Clearance(row.pk, decision), identifier_hash(recipient.address)
            )
        )
    return prepared


CLAIM_FIELDS = [
    "state",
    "due_at",
    "claimed_at",
    "attempts",
    "message_id",
    "to_address",
    "gate_outcome",
    "gate_reasons",
]


def claim(
    *, now: datetime, limit: int, stats: DispatchStats, policy: gate.Policy | None = None
) -> list[Prepared]:
    key = dkim_keys.key_load(create=not settings.IS_PRODUCTION)
    with transaction.atomic():
        due = (
            OutboxMessage.objects.filter(state=State.PENDING, due_at__lte=now)
            .filter(Q(campaign__isnull=True) | Q(campaign__state=Campaign.State.RUNNING))
            .order_by("due_at", "id")
        )
        stopped_journeys = list(Journey.objects.filter(is_active=False).values_list("slug", flat=True))
        if stopped_journeys:
            due = due.exclude(journey__in=stopped_journeys)
        # PostgreSQL: concurrent workers skip each other's rows. SQLite ignores this; there
        # BEGIN IMMEDIATE makes the claim single-writer.
        due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due[:limit])
        if not rows:
            return []
        campaign_ids = {r.campaign_id for r in rows if r.campaign_id}
        campaigns = Campaign.objects.in_bulk(campaign_ids) if campaign_ids else {}
        # S12: a runaway campaign or journey pauses itself; its rows stay pending, unsent.
        rows = brake.brake_check(rows, campaigns, now=now)
        if not rows:
            return []
        recipients = recipients_load(
            [r.customer_id for r in rows],
            now=now,
            content_keys=[r.content_key for r in rows],
            with_categories=any(
                c.audience.get("bought_categories") or c.audience.get("not_bought_categories")
                for c in campaigns.values()
            ),
        )
        prepared = _decide_and_prepare(
            rows, recipients, campaigns, now=now, key=key, policy=policy or settings_policy(), stats=stats
        )
        bulk.update(rows, CLAIM_FIELDS)
        if stats.leaving_journeys:
            journeys.journeys_leave_by_ids(
                enrollment_ids=filter(
                    None, (journeys.enrollment_id_from_key(r.dedupe_key) for r in stats.leaving_journeys)
                ),
                reason="; ".join(sorted({c["code"] for r in stats.leaving_journeys for c in r.gate_reasons})),
                now=now,
            )
    stats.counts["claimed"] += len(rows)
    return prepared
