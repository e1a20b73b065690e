"""The desk's own rules: each one small function ``rule(draft, facts) -> list[Finding]``.

``RULES`` is the one list of them, in the order they run; ``run_rules`` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from regard.customers.models import Customer
from regard.support.reply_check.draft import (
    _GENERIC_ADDRESSEES,
    _INFORMAL_WORDS,
    _PLACEHOLDER,
    _SALUTATIONS,
    _TITLES,
    Draft,
    _fold,
    _normalise,
    parse_draft,
)
from regard.support.reply_check.facts import FACT_PATTERNS, Facts


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    excerpt: str = ""
    # What a registered rule offers to do about it (e.g. record the promise it read): the
    # conversation page includes ``action_template`` with the finding, ``data`` prefilling it.
    data: dict[str, Any] = field(default_factory=dict)
    action_template: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "excerpt": self.excerpt}
        if self.data:
            out["data"] = dict(self.data)
        if self.action_template:
            out["action_template"] = self.action_template
        return out


Rule = Callable[[Draft, Facts], list[Finding]]


def generic_greeting(draft: Draft, facts: Facts) -> list[Finding]:
    """S7: "Hi Generic User", "Dear customer", "Hi there" to someone whose name we know."""
    if not draft.greeting_word and not _PLACEHOLDER.search(draft.greeting_line):
        return []
    addressee = _fold(draft.addressee)
    placeholder = bool(_PLACEHOLDER.search(draft.greeting_line))
    generic = placeholder or not addressee or addressee in {_fold(g) for g in _GENERIC_ADDRESSEES}
    if not generic or not (facts.name_is_known or placeholder):
        return []
    how = f"“{facts.greeting}”" if facts.name_is_known else "a greeting without a placeholder"
    return [
        Finding(
            "generic_greeting",
            f"The greeting is generic, but we know how this person wants to be addressed: use {how}.",
            draft.greeting_line,
        )
    ]


def wrong_form_of_address(draft: Draft, facts: Facts) -> list[Finding]:
    """S7: a first name for someone who asked for formal address, or a name that is not theirs."""
    words = [w for w in draft.addressee.replace(",", " ").split() if w]
    if (
        not draft.greeting_word
        or not words
        or _fold(draft.addressee) in {_fold(g) for g in _GENERIC_ADDRESSEES}
    ):
        return []
    if _PLACEHOLDER.search(draft.greeting_line):
        return []
    salutations = [_SALUTATIONS[_fold(w)] for w in words if _fold(w) in _SALUTATIONS]
    names = [w for w in words if _fold(w) not in _SALUTATIONS and _fold(w) not in _TITLES]
    if not names or any(not w[:1].isupper() for w in names):
        return []  # "Hi again", "Hello and thanks": not a name
    folded = {_fold(n) for n in names}
    right = f"“{facts.greeting}”"
    if not folded <= facts.own_names:
        stranger = " ".join(n for n in names if _fold(n) not in facts.own_names)
        return [
            Finding(
                "wrong_name",
                f"“{stranger}” is not this person's name. Address them as {right}.",
                draft.greeting_line,
            )
        ]
    given, preferred, family = _fold(facts.given_name), _fold(facts.preferred_name), _fold(facts.family_name)
    uses_first_name = bool(given) and given in folded and (not family or family not in folded)
    if (
        facts.salutation
        and salutations
        and _SALUTATIONS.get(_fold(facts.salutation)) not in (None, *salutations)
    ):
        return [
            Finding(
                "wrong_form_of_address",
                f"The salutation does not match the one this person gave ({facts.salutation}). Use {right}.",
                draft.greeting_line,
            )
        ]
    if facts.formality == Customer.Formality.FORMAL and (
        uses_first_name or (draft.greeting_word in _INFORMAL_WORDS and not salutations)
    ):
        return [
            Finding(
                "wrong_form_of_address",
                f"This person asked to be addressed formally, not by first name. Use {right}.",
                draft.greeting_line,
            )
        ]
    if facts.formality == Customer.Formality.NEUTRAL and uses_first_name and given != preferred:
        return [
            Finding(
                "wrong_form_of_address",
                "This person has not said they want their first name used; never guess it. "
                f"Use {right} or their preferred name once they give it.",
                draft.greeting_line,
            )
        ]
    if (
        facts.formality == Customer.Formality.INFORMAL
        and preferred
        and preferred not in folded
        and uses_first_name
    ):
        return [
            Finding(
                "wrong_form_of_address",
                f"This person goes by “{facts.preferred_name}”. Use {right}.",
                draft.greeting_line,
            )
        ]
    return []


def asks_known_fact(draft: Draft, facts: Facts) -> list[Finding]:
    """S8, S20: asking for what is already on file (order number, email, phone, account, purchase, product)."""
    findings: list[Finding] = []
    for key, (label, pattern) in FACT_PATTERNS.items():
        if key not in facts.known:
            continue
        for sentence in draft.sentences:
            if sentence.is_request and pattern.search(sentence.text):
                findings.append(
                    Finding(
                        "asks_known_fact",
                        f"We already have this customer's {label} on file; look it up instead of asking.",
                        sentence.text,
                    )
                )
                break
    return findings


def too_many_requests(draft: Draft, facts: Facts) -> list[Finding]:
    """S8: the customer should not get a second job: at most a few questions or tasks per reply."""
    asks = [s for s in draft.sentences if s.is_request]
    count = sum(s.request_count for s in asks)
    if count <= facts.max_requests:
        return []
    return [
        Finding(
            "too_many_requests",
            f"This reply asks the customer for {count} things (at most {facts.max_requests}). "
            "Keep what helps with their problem and do the rest yourself.",
            " / ".join(s.text for s in asks)[:500],
        )
    ]


def canned_unchanged(draft: Draft, facts: Facts) -> list[Finding]:
    """S7 (seed 003): a saved answer sent as it is, not written for this person."""
    body = _normalise(draft.text)
    if not body:
        return []
    for canned in facts.canned_texts:
        text = _normalise(canned)
        if len(text) < 20:
            continue
        mostly_canned = text in body and len(text) >= 0.8 * len(body)
        if mostly_canned or fuzz.ratio(text, body) >= 95:
            return [
                Finding(
                    "canned_unchanged",
                    "This is a saved answer sent unchanged. Answer this person's question in your own words.",
                    canned.strip()[:200],
                )
            ]
    return []


RULES: tuple[Rule, ...] = (
    generic_greeting,
    wrong_form_of_address,
    asks_known_fact,
    too_many_requests,
    canned_unchanged,
)


def run_rules(draft_text: str, facts: Facts) -> list[Finding]:
    draft = parse_draft(draft_text)
    return [finding for rule in RULES for finding in rule(draft, facts)]
