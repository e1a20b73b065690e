"""Consent, preferences and the partners' suppression check over HTTP (C2). Thin: services decide."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ninja import Field, Router, Schema, Status

from regard.api.auth import ApiRequest, requires
from regard.api.schemas import ModelOut
from regard.consent import selectors, services
from regard.consent.models import ConsentEvent, PreferenceChange
from regard.consent.schemas import PreferencesIn
from regard.customers.selectors import customer_get
from regard.privacy.roles import Capability

if TYPE_CHECKING:  # a type only: the customer comes from customers.selectors
    from regard.customers.models import Customer

router = Router(tags=["consent"])
suppression_router = Router(tags=["suppression"])


class ProofIn(Schema):
    form_text_version: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    message_id: str | None = None
    note: str | None = None


class ConsentIn(Schema):
    action: Literal["grant", "withdraw"]
    purpose: str
    channel: str
    source: str = "api"
    occurred_at: datetime | None = None
    proof: ProofIn | None = None


class ConsentEventOut(ModelOut):
    id: int
    purpose: str
    channel: str
    action: str
    occurred_at: datetime
    recorded_at: datetime
    source: str
    proof: dict[str, Any]


class ConsentStateOut(Schema):
    purpose: str
    channel: str
    granted: bool
    since: datetime
    source: str


class ConsentOut(Schema):
    customer_id: int
    state: list[ConsentStateOut]
    history: list[ConsentEventOut]


class PreferencesOut(PreferencesIn):
    customer_id: int
    recorded_at: datetime | None = None
    source: str | None = None


class SuppressionCheckIn(Schema):
    hashes: list[str] = Field(..., max_length=10_000)
    # The marketing purpose the partner sends for (newsletter, offers…); none: any marketing.
    purpose: str | None = None


class SuppressionCheckOut(Schema):
    suppressed: list[str]


def _customer_for_write(request: ApiRequest, customer_id: int) -> Customer:
    # The write that follows audits itself: the lookup is not a read of the profile.
    return customer_get(
        actor=request.auth, customer_id=customer_id, capability=Capability.CONSENT_WRITE, audit_as=None
    )


@router.post(
    "/{customer_id}/consent",
    auth=requires(Capability.CONSENT_WRITE),
    response={201: ConsentEventOut},
    summary="Grant or withdraw consent",
)
def record_consent(request: ApiRequest, customer_id: int, payload: ConsentIn) -> Status[ConsentEventOut]:
    customer = _customer_for_write(request, customer_id)
    event = services.consent_record(
        action=ConsentEvent.Action.GRANTED if payload.action == "grant" else ConsentEvent.Action.WITHDRAWN,
        actor=request.auth,
        customer=customer,
        purpose=payload.purpose,
        channel=payload.channel,
        source=payload.source,
        occurred_at=payload.occurred_at,
        proof=payload.proof.model_dump(exclude_none=True) if payload.proof else None,
    )
    return Status(201, ConsentEventOut.from_model(event))


@router.get(
    "/{customer_id}/consent",
    auth=requires(Capability.CONSENT_READ),
    response=ConsentOut,
    summary="Consent in force and its full history",
)
def get_consent(request: ApiRequest, customer_id: int) -> ConsentOut:
    overview = selectors.consent_overview(actor=request.auth, customer_id=customer_id)
    return ConsentOut(
        customer_id=overview.customer.pk,
        state=[
            ConsentStateOut(
                purpose=e.purpose,
                channel=e.channel,
                granted=e.is_granted,
                since=e.occurred_at,
                source=e.source,
            )
            for e in overview.state
        ],
        history=[ConsentEventOut.from_model(e) for e in overview.history],
    )


def _preferences_out(customer_id: int, change: PreferenceChange | None) -> PreferencesOut:
    if change is None:
        return PreferencesOut(customer_id=customer_id)
    return PreferencesOut(
        customer_id=customer_id,
        channels=change.channels,
        excluded_topics=change.excluded_topics,
        max_messages_per_week=change.max_messages_per_week,
        paused_until=change.paused_until,
        recorded_at=change.recorded_at,
        source=change.source,
    )


@router.get(
    "/{customer_id}/preferences",
    auth=requires(Capability.CONSENT_READ),
    response=PreferencesOut,
    summary="The customer's contact choices",
)
def get_preferences(request: ApiRequest, customer_id: int) -> PreferencesOut:
    change = selectors.preferences_get(actor=request.auth, customer_id=customer_id)
    return _preferences_out(customer_id, change)


@router.put(
    "/{customer_id}/preferences",
    auth=requires(Capability.CONSENT_WRITE),
    response=PreferencesOut,
    summary="Replace the customer's contact choices",
)
def put_preferences(request: ApiRequest, customer_id: int, payload: PreferencesIn) -> PreferencesOut:
    customer = _customer_for_write(request, customer_id)
    change = services.preferences_set(
        actor=request.auth, customer=customer, **payload.model_dump(), source="api"
    )
    return _preferences_out(customer.pk, change)


@suppression_router.post(
    "/check",
    auth=requires(Capability.SUPPRESSION_CHECK),
    response=SuppressionCheckOut,
    summary="Which hashed addresses are suppressed",
)
def check_suppression(request: ApiRequest, payload: SuppressionCheckIn) -> SuppressionCheckOut:
    """Send SHA-256 hex digests of normalised (trimmed, lower-cased) email addresses and the
    marketing purpose you send for; the answer lists those that must not be mailed: bounced,
    complained, erased, or whose owner withdrew consent to that purpose (any marketing purpose
    when none is named). No personal data goes either way."""
    return SuppressionCheckOut(
        suppressed=selectors.suppression_check(
            actor=request.auth, hashes=payload.hashes, purpose=payload.purpose
        )
    )
