"""The person behind a sender address or phone number (C1: one person, however they write)."""

from __future__ import annotations

from datetime import datetime

from regard.customers import normalise
from regard.customers import services as customer_services
from regard.customers.models import Customer
from regard.customers.selectors import customer_current, customer_resolve
from regard.customers.services import Actor, IdentifierInput
from regard.errors import InvalidInput


def _split_name(name: str) -> dict[str, str]:
    name = " ".join(name.split())[:200]
    if not name:
        return {}
    given, _, family = name.partition(" ")
    return {"given_name": given, "family_name": family} if family else {"given_name": given}


def customer_for_contact(
    *,
    email: str = "",
    phone: str = "",
    name: str = "",
    via: str,
    actor: Actor = None,
    now: datetime | None = None,
) -> Customer:
    """The person behind a sender address or phone number; an unknown sender gets a new profile.

    Attached by any known identifier (email first, then phone). Identifiers a sender merely
    claims are not added to an existing profile, so a form cannot tie a stranger's number to
    someone else's account; a new profile gets all of them, and identity resolution can merge
    it later (C1).
    """
    email, phone = email.strip(), phone.strip()
    if not email and not phone:
        raise InvalidInput("email: an email address or a phone number is needed.", field="email")
    email_n = normalise.normalise_email(email, field="email") if email else ""
    phone_n = normalise.normalise_phone(phone, field="phone") if phone else ""
    for kind, value in (("email", email_n), ("phone", phone_n)):
        if value:
            found = customer_resolve(kind=kind, value=value)
            if found is not None:
                return customer_current(found)
    identifiers = [
        IdentifierInput(kind, value) for kind, value in (("email", email_n), ("phone", phone_n)) if value
    ]
    # Art. 17: an erased person who writes again gets a new profile, so they can be answered;
    # the tombstone still keeps marketing from them (outreach.gate).
    return customer_services.customer_create(
        actor=actor,
        identifiers=identifiers,
        source=via,
        via=via,
        now=now,
        erased_may_return=True,
        **_split_name(name),
    )
