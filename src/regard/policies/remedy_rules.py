"""The reply check's remedy rule: don't ask for what the policy makes unnecessary (S8, S10).

Seed 001: earphones inside their guarantee, and the reply asks about liquid damage, a video,
a factory reset and the receipt. When the product the conversation is about is inside its
guarantee (commercial or legal) and the policy asks none of that, the draft is pointed out.
"""

from __future__ import annotations

import re

from regard.customers.models import Customer
from regard.customers.selectors import customer_group_ids
from regard.policies.selectors.remedies import (
    _group_lines,
    entitlements_for_lines,
    line_the_conversation_is_about,
)
from regard.support.models import Conversation
from regard.support.reply_check import Finding

# What a guarantee claim does not need, in English and German.
UNNEEDED_ASKS = {
    "liquid damage": re.compile(
        r"liquid damage|water damage|(got|been|come into contact with) (wet|water)|flüssigkeitsschaden|wasserschaden|"
        r"(mit )?(wasser|flüssigkeit) in (kontakt|berührung)|nass geworden",
        re.IGNORECASE,
    ),
    "a video": re.compile(
        r"\b(send|record|film)\b[^.?!]{0,40}\bvideo\b|\bvideo\b[^.?!]{0,40}\b(senden|schicken|aufnehmen|drehen)\b",
        re.IGNORECASE,
    ),
    "a photo": re.compile(
        r"\b(send|take|attach)\b[^.?!]{0,40}\b(photo|picture)s?\b|\b(foto|bild)\b[^.?!]{0,40}\b(senden|schicken|anhängen)\b",
        re.IGNORECASE,
    ),
    "a factory reset": re.compile(
        r"factory reset|reset (it|them|the \w+) to factory|werkseinstellung|zurücksetzen", re.IGNORECASE
    ),
    "the receipt": re.compile(
        r"\b(receipt|proof of purchase)\b|\b(kassenbon|kaufbeleg|quittung|rechnung)\b", re.IGNORECASE
    ),
}


def unneeded_by_policy(draft: str, conversation: Conversation | None, customer: Customer) -> list[Finding]:
    if conversation is None:
        return []
    asks = [(name, match) for name, pattern in UNNEEDED_ASKS.items() if (match := pattern.search(draft))]
    if not asks:
        return []
    items = entitlements_for_lines(_group_lines(customer_group_ids(customer)), customer=customer)
    texts = [
        conversation.subject,
        *conversation.messages.filter(direction="in").values_list("body_text", flat=True)[:20],
    ]
    chosen = line_the_conversation_is_about(texts, items)
    if chosen is None:
        return []
    entitlement = chosen.entitlement
    covered = entitlement.is_in_guarantee or entitlement.is_statutory
    if not covered:
        return []
    why = (
        "inside its guarantee"
        if entitlement.is_in_guarantee
        else f"covered by the {entitlement.statutory_label}"
    )
    return [
        Finding(
            code="unneeded_by_policy",
            message=f"{chosen.line.product.name} is {why} (bought {entitlement.days_since_purchase} days ago, order"
            f" {chosen.order.order_number} on file): the policy does not ask for {name}. Offer the remedy instead.",
            excerpt=match.group(0),
        )
        for name, match in asks
    ]
