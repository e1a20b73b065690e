"""What we know about the person and the desk, taken once per check (S8, S20)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from regard.customers.models import Customer, Identifier
from regard.support.reply_check.draft import _fold


@dataclass(frozen=True)
class Facts:
    """What we know about the person and the desk, taken once per check."""

    preferred_name: str = ""
    given_name: str = ""
    family_name: str = ""
    salutation: str = ""
    formality: str = Customer.Formality.NEUTRAL
    greeting: str = "Hello"  # how the person asked to be addressed (Customer.greeting, as in outreach)
    known: frozenset[str] = frozenset()  # keys of FACT_PATTERNS we have on file
    canned_texts: tuple[str, ...] = ()
    max_requests: int = 2

    @property
    def name_is_known(self) -> bool:
        return self.greeting != "Hello"

    @property
    def own_names(self) -> set[str]:
        parts = " ".join((self.preferred_name, self.given_name, self.family_name)).split()
        return {_fold(part) for part in parts}


# Facts a customer should never be asked for when we have them (S8, S20).
FACT_PATTERNS: dict[str, tuple[str, re.Pattern[str]]] = {
    "order_number": (
        "order number",
        re.compile(
            r"order (?:number|no\.?|id|reference)|(?:bestell|auftrags)(?:nummer|-?nr\.?)|num[ée]ro de commande|"
            r"r[ée]f[ée]rence de (?:la )?commande",
            re.I,
        ),
    ),
    "email": (
        "email address",
        re.compile(
            r"e-?mail(?:-| )?(?:address|adresse)|your e-?mail\b|ihre e-?mail|adresse (?:e-?mail|[ée]lectronique)|"
            r"votre (?:e-?mail|courriel)",
            re.I,
        ),
    ),
    "phone": (
        "phone number",
        re.compile(
            r"(?:tele)?phone number|mobile number|cell number|(?:telefon|handy|mobil|ruf)nummer|"
            r"num[ée]ro de (?:t[ée]l[ée]phone|portable|mobile)",
            re.I,
        ),
    ),
    "account_number": (
        "account number",
        re.compile(
            r"(?:account|customer|client) (?:number|no\.?|id)|kunden(?:nummer|-?nr\.?)|kontonummer|"
            r"num[ée]ro (?:de )?(?:client|compte)",
            re.I,
        ),
    ),
    "purchase_date": (
        "purchase date",
        re.compile(
            r"(?:date of|the) purchase(?: date)?|purchase date|when (?:did you|you) (?:buy|bought|purchase|order)|"
            r"kaufdatum|wann (?:haben sie|hast du) .{0,40}(?:gekauft|bestellt)|date d'achat|"
            r"quand (?:avez-vous|as-tu) .{0,40}(?:achet[ée]|command[ée])",
            re.I,
        ),
    ),
    "product": (
        "product",
        re.compile(
            r"(?:which|what) (?:product|model|item)|product name|model (?:number|name)|"
            r"welche[sn]? (?:produkt|modell|artikel)|modell(?:nummer|bezeichnung)|produktname|"
            r"quel (?:produit|mod[èe]le|article)|nom du produit|r[ée]f[ée]rence du (?:produit|mod[èe]le)",
            re.I,
        ),
    ),
}
# Identifier kinds that put a fact on file.
_IDENTIFIER_FACTS: dict[str, str] = {
    Identifier.Kind.EMAIL: "email",
    Identifier.Kind.PHONE: "phone",
    Identifier.Kind.ACCOUNT: "account_number",
    Identifier.Kind.ORDER: "order_number",
}


def facts_for(*, customer: Customer, conversation: Any = None) -> Facts:
    """Snapshot the profile, what is on file, and the saved answers this desk uses."""
    known = {
        _IDENTIFIER_FACTS[kind]
        for kind in customer.identifiers.values_list("kind", flat=True).distinct()
        if kind in _IDENTIFIER_FACTS
    }
    if customer.orders.exists():
        known |= {"order_number", "purchase_date"}
        if customer.orders.filter(lines__isnull=False).exists():
            known.add("product")
    return Facts(
        preferred_name=customer.preferred_name,
        given_name=customer.given_name,
        family_name=customer.family_name,
        salutation=customer.salutation,
        formality=customer.formality,
        greeting=customer.greeting,
        known=frozenset(known),
        canned_texts=tuple(canned_texts_for(conversation)),
        max_requests=int(settings.REGARD_REPLY_CHECK_MAX_REQUESTS),
    )


def canned_texts_for(conversation: Any = None) -> list[str]:
    from regard.support.models import SavedReply

    # Any saved answer counts, whichever team keeps it: sent unchanged, it is still canned.
    return list(SavedReply.objects.values_list("body", flat=True))
