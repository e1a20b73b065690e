"""Reads for the outbox: the committed contact state the gate decides on, and campaign counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Q

from regard.consent.hashing import identifier_hash
from regard.consent.selectors import consent_in_force, preferences_current, suppressed_hashes
from regard.customers.models import Customer, Identifier, OrderLine, TimelineEvent
from regard.db import bulk
from regard.errors import found
from regard.outreach import gate
from regard.outreach.audience import audience_queryset
from regard.outreach.models import Campaign, OutboxMessage
from regard.outreach.render import customer_context, subject_for_display
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.privacy.tombstone import tombstoned_since

__all__ = ["audience_queryset"]  # the planning path iterates it in chunks

HISTORY_WINDOW = timedelta(days=8)
COUNTED_STATES = (OutboxMessage.State.SENT, OutboxMessage.State.SENDING, OutboxMessage.State.UNCERTAIN)
ADDRESS_KIND = {"email": "email", "sms": "phone", "phone": "phone"}


@dataclass
class Recipient:
    customer: Customer
    address: str
    state: gate.ContactState


def _gate_audience(audience: dict[str, Any]) -> gate.AudienceRule:
    """The parts of an audience rule the gate checks again at send time."""
    return gate.AudienceRule(
        countries=frozenset(audience.get("countries", [])),
        languages=frozenset(audience.get("languages", [])),
        bought_categories=frozenset(audience.get("bought_categories", [])),
        not_bought_categories=frozenset(audience.get("not_bought_categories", [])),
    )


def message_facts(message: OutboxMessage, campaign: Campaign | None) -> gate.Message:
    audience = (campaign.audience if campaign else {}) or {}
    return gate.Message(
        kind=gate.Kind(message.kind),
        purpose=message.purpose,
        channel=message.channel,
        content_key=message.content_key,
        topics=frozenset(message.topics),
        audience=_gate_audience(audience),
        expires_at=message.expires_at,
    )


def campaign_get(*, actor: AnyUser, campaign_id: int) -> Campaign:
    """A campaign for the campaign screen and API; campaigns hold no personal data, so no audit."""
    access.require(actor, Capability.CAMPAIGN_MANAGE)
    return found(Campaign.objects.filter(pk=campaign_id).first(), f"No campaign with id {campaign_id}.")


def campaign_message_facts(campaign: Campaign) -> gate.Message:
    """What one of this campaign's messages would look like to the gate (the preview asks it)."""
    return gate.Message(
        kind=gate.Kind.MARKETING,
        purpose=campaign.purpose,
        channel=campaign.channel,
        content_key=f"campaign:{campaign.pk}",
        topics=frozenset(campaign.topics),
        audience=_gate_audience(campaign.audience or {}),
        expires_at=campaign.expires_at,
    )


def recipients_load(
    customer_ids: Iterable[int],
    *,
    now: datetime,
    channel: str = "email",
    content_keys: Sequence[str] = (),
    with_categories: bool = False,
) -> dict[int, Recipient]:
    """Everything the gate needs for these customers, in a fixed number of queries."""
    ids = list(set(customer_ids))
    members = bulk.one_of(ids)
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=members)}
    kind = ADDRESS_KIND.get(channel, channel)
    addresses: dict[int, str] = {}
    for customer_id, value in (
        Identifier.objects.filter(customer_id__in=members, kind=kind)
        .order_by("-id")
        .values_list("customer_id", "value_normalised")
    ):
        addresses[customer_id] = value  # the oldest address wins (ordered newest first)
    hashes = {cid: identifier_hash(value) for cid, value in addresses.items()}
    suppressed = suppressed_hashes(hashes.values())
    erased, fresh_consent = _erasure_state(addresses)
    consents = consent_in_force(members)
    preferences = preferences_current(ids)
    history: dict[int, list[gate.Contact]] = {}
    sent = OutboxMessage.objects.filter(customer_id__in=members, state__in=COUNTED_STATES).filter(
        Q(sent_at__gte=now - HISTORY_WINDOW) | Q(content_key__in=list(content_keys)) | Q(sent_at__isnull=True)
    )
    for customer_id, sent_at, kind_, purpose, channel_, key, claimed_at in sent.values_list(
        "customer_id", "sent_at", "kind", "purpose", "channel", "content_key", "claimed_at"
    ):
        when = sent_at or claimed_at or now
        history.setdefault(customer_id, []).append(
            gate.Contact(when, gate.Kind(kind_), purpose, channel_, key)
        )
    visits = dict(
        TimelineEvent.objects.filter(
            customer_id__in=members, kind="web.visit", occurred_at__gte=now - timedelta(days=7)
        )
        .values("customer_id")
        .annotate(last=Max("occurred_at"))
        .values_list("customer_id", "last")
    )
    categories: dict[int, set[str]] = {}
    if with_categories:
        for customer_id, category in OrderLine.objects.filter(order__customer_id__in=members).values_list(
            "order__customer_id", "product__category"
        ):
            categories.setdefault(customer_id, set()).add(category)
    result: dict[int, Recipient] = {}
    for customer_id, customer in customers.items():
        pref = preferences.get(customer_id)
        result[customer_id] = Recipient(
            customer=customer,
            address=addresses.get(customer_id, ""),
            state=gate.ContactState(
                consent=consents.get(customer_id, {}),
                has_address=customer_id in addresses,
                suppression_reason=suppressed.get(hashes.get(customer_id, "")),
                chosen_channels=frozenset(pref.channels) if pref else frozenset(),
                excluded_topics=frozenset(pref.excluded_topics) if pref else frozenset(),
                max_messages_per_week=pref.max_messages_per_week if pref else None,
                paused_until=pref.paused_until if pref else None,
                time_zone=customer.time_zone,
                country=customer.country,
                language=customer.language,
                bought_categories=frozenset(categories.get(customer_id, ())),
                last_web_visit_at=visits.get(customer_id),
                history=tuple(history.get(customer_id, ())),
                erased_at=erased.get(customer_id),
                consented_since_erasure=frozenset(fresh_consent.get(customer_id, ())),
            ),
        )
    return result


def _erasure_state(
    addresses: dict[int, str],
) -> tuple[dict[int, datetime], dict[int, set[tuple[str, str]]]]:
    """Art. 17: customer → when their address was erased, and what they consented to since, with proof."""
    tombstoned = tombstoned_since(addresses.values())
    erased = {cid: tombstoned[value] for cid, value in addresses.items() if value in tombstoned}
    fresh: dict[int, set[tuple[str, str]]] = {}
    if erased:
        from regard.consent.models import ConsentEvent

        grants = (
            ConsentEvent.objects.filter(customer_id__in=list(erased), action=ConsentEvent.Action.GRANTED)
            .exclude(proof={})
            .values_list("customer_id", "purpose", "channel", "recorded_at")
        )
        for customer_id, purpose, channel, recorded_at in grants:
            if recorded_at > erased[customer_id]:
                fresh.setdefault(customer_id, set()).add((purpose, channel))
    return erased, fresh


@dataclass
class CampaignCounts:
    by_state: dict[str, int]
    by_reason: dict[str, int]
    uncertain: int


def campaign_counts(campaign: Campaign) -> CampaignCounts:
    rows = OutboxMessage.objects.filter(campaign=campaign)
    by_state = dict(rows.values("state").annotate(n=Count("id")).values_list("state", "n"))
    reasons: Counter[str] = Counter()
    for reason_list in rows.exclude(gate_reasons=[]).values_list("gate_reasons", flat=True).iterator():
        for reason in reason_list:
            reasons[reason["code"]] += 1
    return CampaignCounts(
        by_state=by_state, by_reason=dict(reasons), uncertain=rows.filter(was_uncertain=True).count()
    )


def settings_policy() -> gate.Policy:
    return gate.Policy(consent_free_purposes=frozenset(settings.REGARD_CONSENT_FREE_PURPOSES))


# How people are told each gate reason (codes from outreach.gate, the dispatcher and journeys).
REASON_LABELS = {
    "no_consent": "no consent",
    "suppressed": "suppressed",
    "erased": "erased (Art. 17), no consent since",
    "no_address": "no address on file",
    "duplicate_content": "already received this",
    "channel_not_chosen": "channel not chosen by the customer",
    "topic_excluded": "excluded topic",
    "audience": "outside the audience",
    "frequency_choice": "wants no marketing",
    "frequency_week": "weekly cap",
    "frequency_day": "daily cap",
    "frequency_purpose": "cap for this purpose",
    "paused": "paused by the customer",
    "web_cool_off": "cool-off after a web visit",
    "quiet_hours": "quiet hours",
    "expired": "would only be allowed after it expires",
    "missing_data": "template data missing",
    "no_sender": "no sender for this channel",
    "cancelled": "campaign cancelled",
    "left_journey": "left the journey",
}


def reason_label(code: str) -> str:
    return REASON_LABELS.get(code, code.replace("_", " "))


def reason_text(reason: dict[str, Any], *, purpose: str, channel: str, time_zone: str, now: datetime) -> str:
    """One gate reason as a person reads it: "quiet hours until 08:00 Europe/Berlin"."""
    code = str(reason.get("code", ""))
    if code == "no_consent":
        text = f"no consent for {purpose} by {channel}"
    elif code in ("missing_data", "left_journey", "audience", "topic_excluded", "suppressed"):
        text = str(reason.get("detail") or reason_label(code))
    else:
        text = reason_label(code)
    until = reason.get("until")
    if until:
        try:
            local = datetime.fromisoformat(str(until)).astimezone(gate.zone_or_utc(time_zone))
        except ValueError:
            return text
        shown = (
            local.strftime("%H:%M")
            if local.date() == now.astimezone(local.tzinfo).date()
            else local.strftime("%Y-%m-%d %H:%M")
        )
        text += f" until {shown} {time_zone}"
    return text


@dataclass
class MessageLine:
    message: OutboxMessage
    label: str  # campaign name, journey, or "service message"
    subject: str
    outcome: str  # sent / held / dropped / pending / failed / uncertain / needs a person
    reasons: list[str]


def _outcome(row: OutboxMessage) -> str:
    State = OutboxMessage.State
    if row.state == State.PENDING and row.gate_outcome == gate.Outcome.HOLD.value:
        return "held"
    if row.state == State.HELD:
        return "needs a person"
    return str(row.state)


def messages_for_customers(
    customer_ids: Sequence[int],
    *,
    time_zone: str,
    now: datetime,
    limit: int = 50,
    customer: Customer | None = None,
) -> list[MessageLine]:
    """Every message to these profiles (a merge group), newest first, with the gate's reasons in words.

    No access check here: the caller (the Customer 360 selector) checked and audits the read.
    """
    rows = (
        OutboxMessage.objects.filter(customer_id__in=list(customer_ids))
        .select_related("campaign")
        .order_by("-created_at", "-id")[:limit]
    )
    lines = []
    context = customer_context(customer) if customer is not None else {}
    for row in rows:
        outcome = _outcome(row)
        reasons = (
            [
                reason_text(r, purpose=row.purpose, channel=row.channel, time_zone=time_zone, now=now)
                for r in row.gate_reasons
            ]
            if outcome in ("held", "dropped", "needs a person", "pending")
            else []
        )
        label = (
            row.campaign.name
            if row.campaign
            else (f"journey {row.journey}" if row.journey else f"{row.kind} message")
        )
        subject = subject_for_display(
            row.subject or (row.campaign.subject if row.campaign else ""), {**context, **row.context}
        )
        lines.append(MessageLine(message=row, label=label, subject=subject, outcome=outcome, reasons=reasons))
    return lines
