"""Every write to consent, preferences and the suppression list (C2).

One transaction each; each writes its timeline event and its audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict, Unpack

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from regard.consent.hashing import identifier_hash
from regard.consent.models import Channel, ConsentEvent, MarketingOptOut, PreferenceChange, Suppression
from regard.consent.selectors import consent_is_withdrawn
from regard.customers.models import Customer, Identifier
from regard.customers.services import Actor, timeline_append
from regard.errors import InvalidInput
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record

PROOF_KEYS = frozenset({"form_text_version", "ip", "user_agent", "message_id", "note", "report", "token"})


def purposes() -> list[str]:
    return list(settings.REGARD_CONSENT_PURPOSES)


def clean_purpose(purpose: str, *, field: str = "purpose") -> str:
    if purpose not in settings.REGARD_CONSENT_PURPOSES:
        allowed = ", ".join(settings.REGARD_CONSENT_PURPOSES)
        raise InvalidInput(f"{field}: '{purpose}' is not one of {allowed}.", field=field)
    return purpose


def clean_channel(channel: str, *, field: str = "channel") -> str:
    if channel not in Channel.values:
        raise InvalidInput(f"{field}: '{channel}' is not one of {', '.join(Channel.values)}.", field=field)
    return channel


def clean_source(source: str) -> str:
    if source not in ConsentEvent.Source.values:
        allowed = ", ".join(ConsentEvent.Source.values)
        raise InvalidInput(f"source: '{source}' is not one of {allowed}.", field="source")
    return source


def clean_proof(proof: Mapping[str, Any] | None) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in (proof or {}).items():
        if key not in PROOF_KEYS:
            raise InvalidInput(
                f"proof.{key}: not a proof field ({', '.join(sorted(PROOF_KEYS))}).", field=f"proof.{key}"
            )
        if value is not None and not isinstance(value, str | int):
            raise InvalidInput(f"proof.{key}: must be text.", field=f"proof.{key}")
        cleaned[key] = value if not isinstance(value, str) else value[:500]
    return cleaned


def _partner_opt_outs_follow(event: ConsentEvent) -> None:
    """Keep the partners' view of marketing opt-outs equal to the ledger (S5)."""
    if event.channel != Channel.EMAIL or event.purpose in settings.REGARD_CONSENT_FREE_PURPOSES:
        return
    hashes = [
        identifier_hash(value)
        for value in Identifier.objects.filter(
            customer=event.customer, kind=Identifier.Kind.EMAIL
        ).values_list("value_normalised", flat=True)
    ]
    # The consent in force is the latest by when it happened, not by when it was recorded: a
    # paper form older than the unsubscribe, entered today, leaves the person opted out.
    in_force = (
        ConsentEvent.objects.filter(customer=event.customer, purpose=event.purpose, channel=Channel.EMAIL)
        .order_by("-occurred_at", "-id")
        .first()
    )
    assert in_force is not None  # the event itself at least
    if in_force.action == ConsentEvent.Action.GRANTED:
        MarketingOptOut.objects.filter(identifier_hash__in=hashes, purpose=event.purpose).delete()
        return
    MarketingOptOut.objects.bulk_create(
        [
            MarketingOptOut(
                identifier_hash=h,
                purpose=event.purpose,
                customer_id=event.customer_id,
                since=in_force.recorded_at,
            )
            for h in hashes
        ],
        ignore_conflicts=True,
    )


class ConsentArguments(TypedDict):
    """What every ledger entry is recorded with, granted or withdrawn."""

    actor: Actor
    customer: Customer
    purpose: str
    channel: str
    source: str
    proof: NotRequired[Mapping[str, Any] | None]
    occurred_at: NotRequired[datetime | None]
    via: NotRequired[str]
    now: NotRequired[datetime | None]


def _consent_record(
    *,
    actor: Actor,
    customer: Customer,
    action: str,
    purpose: str,
    channel: str,
    source: str,
    proof: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
    via: str = "api",
    now: datetime | None = None,
) -> ConsentEvent:
    now = now or timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now:
        raise InvalidInput("occurred_at: must not be in the future.", field="occurred_at")
    event = ConsentEvent.objects.create(
        customer=customer,
        purpose=clean_purpose(purpose),
        channel=clean_channel(channel),
        action=action,
        occurred_at=occurred_at,
        recorded_at=now,
        source=clean_source(source),
        proof=clean_proof(proof),
    )
    _partner_opt_outs_follow(event)
    verb = "granted" if action == ConsentEvent.Action.GRANTED else "withdrew"
    timeline_append(
        customer=customer,
        kind=f"consent.{action}",
        channel=channel,
        summary=f"{verb.capitalize()} consent to {purpose} by {channel} ({source})",
        occurred_at=occurred_at,
        subject=event,
        data={"purpose": purpose, "source": source},
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        object_type="consent_event",
        object_id=event.pk,
        customer_id=customer.pk,
        via=via,
        now=now,
        detail={"action": action, "purpose": purpose, "channel": channel, "source": source},
    )
    return event


# One ledger entry, granted or withdrawn (``action`` is a ConsentEvent.Action).
consent_record = transaction.atomic(_consent_record)


def consent_grant(**arguments: Unpack[ConsentArguments]) -> ConsentEvent:
    return consent_record(action=ConsentEvent.Action.GRANTED, **arguments)


def consent_withdraw(**arguments: Unpack[ConsentArguments]) -> ConsentEvent:
    return consent_record(action=ConsentEvent.Action.WITHDRAWN, **arguments)


@transaction.atomic
def consent_unsubscribe(**arguments: Unpack[ConsentArguments]) -> ConsentEvent | None:
    """Withdraw one purpose by one channel unless it is withdrawn already (S2).

    One click twice, or the link and the List-Unsubscribe mail both, is still one
    unsubscribe: None when the consent in force is a withdrawal and nothing was written.
    """
    customer = arguments["customer"]
    if consent_is_withdrawn(customer=customer, purpose=arguments["purpose"], channel=arguments["channel"]):
        return None
    return _consent_record(action=ConsentEvent.Action.WITHDRAWN, **arguments)


def _withdraw_all(
    *,
    actor: Actor,
    customer: Customer,
    source: str,
    proof: Mapping[str, Any] | None = None,
    channels: Iterable[str] | None = None,
    via: str = "api",
    now: datetime | None = None,
) -> list[ConsentEvent]:
    """Stop everything but service messages (unsubscribe link, complaint: S19)."""
    return [
        _consent_record(
            actor=actor,
            customer=customer,
            action=ConsentEvent.Action.WITHDRAWN,
            purpose=purpose,
            channel=channel,
            source=source,
            proof=proof,
            via=via,
            now=now,
        )
        for purpose in settings.REGARD_CONSENT_PURPOSES
        if purpose not in settings.REGARD_CONSENT_FREE_PURPOSES
        for channel in (channels or Channel.values)
    ]


consent_withdraw_all = transaction.atomic(_withdraw_all)


@dataclass(frozen=True)
class StoppedEverything:
    withdrawn: list[ConsentEvent]
    preferences: PreferenceChange


@transaction.atomic
def consent_stop_everything(
    *,
    actor: Actor,
    customer: Customer,
    source: str,
    proof: Mapping[str, Any] | None = None,
    via: str = "api",
    now: datetime | None = None,
) -> StoppedEverything:
    """The preference page's "stop everything" (S2): every marketing consent withdrawn and no
    message a week, in one transaction, so a failure half-way leaves the choices as they were."""
    now = now or timezone.now()
    withdrawn = _withdraw_all(actor=actor, customer=customer, source=source, proof=proof, via=via, now=now)
    preferences = preferences_set(
        actor=actor,
        customer=customer,
        max_messages_per_week=0,
        source=source,
        proof=proof,
        via=via,
        now=now,
    )
    return StoppedEverything(withdrawn=withdrawn, preferences=preferences)


def clean_topics(topics: Iterable[str], *, field: str = "excluded_topics") -> list[str]:
    cleaned = []
    for index, topic in enumerate(topics):
        if not isinstance(topic, str) or not topic.strip() or len(topic) > 64:
            raise InvalidInput(
                f"{field}[{index}]: a topic is 1–64 characters of text.", field=f"{field}[{index}]"
            )
        cleaned.append(topic.strip().lower())
    return sorted(set(cleaned))


@transaction.atomic
def preferences_set(
    *,
    actor: Actor,
    customer: Customer,
    channels: Iterable[str] = (),
    excluded_topics: Iterable[str] = (),
    max_messages_per_week: int | None = None,
    paused_until: datetime | None = None,
    source: str = "api",
    proof: Mapping[str, Any] | None = None,
    via: str = "api",
    now: datetime | None = None,
) -> PreferenceChange:
    now = now or timezone.now()
    chosen = sorted({clean_channel(c, field=f"channels[{i}]") for i, c in enumerate(channels)})
    if max_messages_per_week is not None and not 0 <= max_messages_per_week <= 100:
        raise InvalidInput("max_messages_per_week: between 0 and 100.", field="max_messages_per_week")
    if paused_until is not None and timezone.is_naive(paused_until):
        raise InvalidInput("paused_until: needs a time zone.", field="paused_until")
    change = PreferenceChange.objects.create(
        customer=customer,
        channels=chosen,
        excluded_topics=clean_topics(excluded_topics),
        max_messages_per_week=max_messages_per_week,
        paused_until=paused_until,
        source=clean_source(source),
        proof=clean_proof(proof),
        recorded_at=now,
    )
    timeline_append(
        customer=customer,
        kind="preferences.set",
        summary="Contact preferences changed"
        + (f", paused until {paused_until:%Y-%m-%d}" if paused_until else ""),
        occurred_at=now,
        subject=change,
        data={"channels": chosen, "max_messages_per_week": max_messages_per_week, "source": source},
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="preferences",
        object_id=change.pk,
        customer_id=customer.pk,
        via=via,
        now=now,
    )
    return change


@transaction.atomic
def suppression_add(
    *,
    actor: Actor,
    kind: str,
    normalised_value: str,
    reason: str,
    detail: Mapping[str, Any] | None = None,
    via: str = "system",
    now: datetime | None = None,
) -> Suppression:
    """Suppress an address for good. Idempotent: the first reason is kept."""
    now = now or timezone.now()
    if reason not in Suppression.Reason.values:
        raise InvalidInput(
            f"reason: '{reason}' is not one of {', '.join(Suppression.Reason.values)}.", field="reason"
        )
    key = identifier_hash(normalised_value)
    existing = Suppression.objects.filter(identifier_hash=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            suppression = Suppression.objects.create(
                identifier_hash=key, kind=kind, reason=reason, detail=dict(detail or {}), created_at=now
            )
    except IntegrityError:
        return Suppression.objects.get(identifier_hash=key)
    owner = (
        Identifier.objects.select_related("customer")
        .filter(kind=kind, value_normalised=normalised_value)
        .first()
    )
    if owner is not None:
        timeline_append(
            customer=owner.customer,
            kind="suppression.added",
            channel="email" if kind == "email" else kind,
            summary=f"Address suppressed ({reason})",
            occurred_at=now,
            subject=suppression,
            data={"reason": reason},
        )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        object_type="suppression",
        object_id=suppression.pk,
        customer_id=owner.customer_id if owner else None,
        via=via,
        now=now,
        detail={"reason": reason, "kind": kind},
    )
    return suppression
