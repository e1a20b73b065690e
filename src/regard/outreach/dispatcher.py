"""The outbox dispatcher: the one path by which anything is sent (invariants 1–3).

1. Claim due rows (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
   ``BEGIN IMMEDIATE`` makes the claim single-writer there).
2. Inside that transaction, ask the gate again against committed state (S13), render,
   sign, and mark the row SENDING before anything leaves the machine: a crash after
   this point can never lead to a second delivery of a marketing message.
3. Just before each hand-over, look for consent/preference/suppression changes that
   committed since the claim and, if any, ask the gate once more (invariant 2).
4. Hand over through the sender with the gate's clearance; record the result.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Field, OuterRef, Q
from django.utils import timezone
from django_tasks import task

from regard.consent.hashing import identifier_hash
from regard.consent.models import ConsentEvent, PreferenceChange, Suppression
from regard.consent.selectors import suppressed_hashes
from regard.consent.tokens import link_token
from regard.customers.models import Customer, Identifier, TimelineEvent
from regard.outreach import brake, dkim_keys, gate, journeys, mime, reconnect
from regard.outreach.footer import email_footer
from regard.outreach.models import Campaign, Journey, OutboxMessage
from regard.outreach.render import MissingData, customer_context, render
from regard.outreach.selectors import Recipient, message_facts, recipients_load, settings_policy
from regard.outreach.sender import Clearance, Relay, Result, SmtpSender
from regard.outreach.sender import Outcome_ as SendOutcome

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Consent writes are short transactions; a change stamped this long before a claim
# may still have committed after it, so the pre-send check looks back this far.
COMMIT_MARGIN = timedelta(seconds=30)
State = OutboxMessage.State
T = TypeVar("T")


def backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=1) * 2 ** max(attempts - 1, 0), timedelta(hours=6))


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


def _reasons_json(decision: gate.Decision) -> list[dict[str, Any]]:
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


def _compose(
    row: OutboxMessage,
    campaign: Campaign | None,
    recipient: Recipient,
    now: datetime,
    key: dkim_keys.DkimKey | None,
) -> mime.Envelope:
    customer = recipient.customer
    domain = settings.REGARD_MAIL_DOMAIN
    context = customer_context(customer, row.context)
    list_unsubscribe = None
    if row.is_marketing:
        token = link_token(
            customer_id=customer.pk, purpose=row.purpose, channel=row.channel, message_id=row.message_id
        )
        unsubscribe_url = f"{settings.REGARD_PUBLIC_URL}/u/{token}"
        preferences_url = f"{settings.REGARD_PUBLIC_URL}/p/{token}"
        context.update(unsubscribe_url=unsubscribe_url, preferences_url=preferences_url)
        list_unsubscribe = (unsubscribe_url, f"mailto:unsubscribe@{domain}?subject=unsubscribe%20{token}")
    rendered = render(
        subject=row.subject or (campaign.subject if campaign else ""),
        body=row.body or (campaign.body if campaign else ""),
        variants=campaign.variants if campaign else {},
        language=customer.language,
        context=context,
    )
    body = rendered.body + email_footer(
        language=customer.language,
        purpose=row.purpose,
        marketing=row.is_marketing,
        unsubscribe_url=context.get("unsubscribe_url", ""),
        preferences_url=context.get("preferences_url", ""),
    )
    return mime.build(
        from_header=settings.REGARD_MAIL_FROM,
        to=recipient.address,
        subject=rendered.subject,
        body=body,
        message_id=row.message_id,
        date=now,
        domain=domain,
        list_unsubscribe=list_unsubscribe,
        key=key,
        extra_headers=mime.threading_headers(row.context),
    )


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
        row.gate_reasons = _reasons_json(decision)
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
            envelope = _compose(row, campaign, recipient, now, key)
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
        if connection.vendor == "postgresql":
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
        _bulk_set(rows, CLAIM_FIELDS)
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


def _changed_since(since: datetime) -> tuple[set[int], set[str]]:
    """Customers whose consent or preferences changed or who were erased, and addresses
    suppressed, since ``since``.

    Asked before every hand-over (invariant 2), so it is one indexed query.
    """
    if connection.vendor == "postgresql":
        # A prepared statement: planning the query would cost more than running it.
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as raw:
            found = raw.execute(_changes_sql(), [since] * 4, prepare=True).fetchall()
    else:
        with connection.cursor() as cursor:
            cursor.execute(_changes_sql(), [since] * 4)
            found = cursor.fetchall()
    return {c for c, _ in found if c is not None}, {h for _, h in found if h}


def _bulk_set(rows: list[OutboxMessage], fields: list[str]) -> None:
    """Write ``fields`` of many rows in one statement (PostgreSQL: UPDATE … FROM VALUES)."""
    if not rows:
        return
    if connection.vendor != "postgresql" or len(rows) == 1:
        OutboxMessage.objects.bulk_update(rows, fields)
        return
    meta = OutboxMessage._meta
    quote = connection.ops.quote_name
    columns: list[Field[Any, Any]] = []
    for name in fields:
        field = meta.get_field(name)
        assert isinstance(field, Field)
        columns.append(field)
    types = [str(c.db_type(connection)) for c in [meta.pk, *columns] if c is not None]
    row_sql = "(" + ", ".join(f"%s::{t}" for t in types) + ")"
    params: list[Any] = []
    for row in rows:
        params.append(row.pk)
        params.extend(c.get_db_prep_save(getattr(row, c.attname), connection) for c in columns)
    names = [quote(str(c.column)) for c in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} AS t SET {', '.join(f'{n} = v.{n}' for n in names)}"  # nosec B608 # SQL names from model metadata, values as parameters
            f" FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v(id, {', '.join(names)})"
            f" WHERE t.id = v.id",
            params,
        )


def _still_allowed(item: Prepared, *, now: datetime, policy: gate.Policy) -> bool:
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
        row.gate_outcome, row.gate_reasons = decision.outcome.value, _reasons_json(decision)
        if decision.outcome is gate.Outcome.HOLD and decision.hold_until:
            row.state, row.due_at = State.PENDING, decision.hold_until
        else:
            row.state = State.DROPPED
        row.attempts -= 1
        row.save(update_fields=["state", "due_at", "gate_outcome", "gate_reasons", "attempts"])
    return False


def _record_sent_postgresql(sent_ids: list[int], *, now: datetime) -> None:
    """Mark rows sent and put each on the customer's timeline, in one statement (the hot path)."""
    outbox, timeline = (connection.ops.quote_name(m._meta.db_table) for m in (OutboxMessage, TimelineEvent))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH sent AS (UPDATE {outbox} SET state = %s, sent_at = %s, smtp_code = 250"  # nosec B608 # SQL names from model metadata, values as parameters
            " WHERE id = ANY(%s) RETURNING id, customer_id, kind, purpose, channel, message_id, campaign_id)"
            f" INSERT INTO {timeline} (customer_id, kind, channel, summary, occurred_at, recorded_at,"
            " subject_type, subject_id, data)"
            " SELECT customer_id, 'message.sent', channel, initcap(kind) || ' message sent (' || purpose || ')',"
            " %s, %s, 'outreach.outboxmessage', id::text,"
            " jsonb_build_object('message_id', message_id, 'campaign', campaign_id) FROM sent",
            [State.SENT.value, now, sent_ids, now, now],
        )


def _record(
    results: list[tuple[Prepared, SendOutcome]],
    unsent: list[Prepared],
    *,
    now: datetime,
    stats: DispatchStats,
) -> None:
    from regard.consent.services import suppression_add

    sent_ids = [p.row.pk for p, outcome in results if outcome.result is Result.SENT]
    with transaction.atomic():
        if sent_ids and connection.vendor == "postgresql":
            _record_sent_postgresql(sent_ids, now=now)
            stats.counts["sent"] += len(sent_ids)
        elif sent_ids:
            OutboxMessage.objects.filter(pk__in=sent_ids).update(state=State.SENT, sent_at=now, smtp_code=250)
            TimelineEvent.objects.bulk_create(
                TimelineEvent(
                    customer_id=p.row.customer_id,
                    kind="message.sent",
                    channel=p.row.channel,
                    summary=f"{p.row.kind.capitalize()} message sent ({p.row.purpose})",
                    occurred_at=now,
                    recorded_at=now,
                    subject_type="outreach.outboxmessage",
                    subject_id=str(p.row.pk),
                    data={"message_id": p.row.message_id, "campaign": p.row.campaign_id},
                )
                for p, outcome in results
                if outcome.result is Result.SENT
            )
            stats.counts["sent"] += len(sent_ids)
        if unsent:
            # Never handed over: back to the queue as if never claimed.
            for item in unsent:
                item.row.state, item.row.due_at, item.row.attempts = State.PENDING, now, item.row.attempts - 1
            _bulk_set([i.row for i in unsent], ["state", "due_at", "attempts"])
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
                pk__in=[r.pk for r in handed], state=State.SENDING, claimed_at=now
            ).exists()
        ):
            return
        reruns.append(True)
        _record(results, unsent, now=recorded_at, stats=stats)

    _again_if_connection_lost(record_once, handed, stats)
    return stats


def _stopped_before_send(item: Prepared, *, since: datetime, policy: gate.Policy) -> bool:
    changed_customers, changed_hashes = _changed_since(since)
    return (
        item.row.customer_id in changed_customers or item.address_hash in changed_hashes
    ) and not _still_allowed(item, now=timezone.now(), policy=policy)


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
