"""Does the customer ask for a person? (S17: the customer yells OPERATOR and never reaches one.)

A pure check on the text of one chat message. It runs before anything else looks at the
message, so no automated step can stand between the customer and a person. It errs on
the side of handing over: a false positive costs an agent a glance, a false negative is
the seed's complaint.

Words are matched whole (case-folded, accents kept) in every supported language at once,
because a visitor's language is often unknown and people switch to English when annoyed.
Polish inflects nouns, so its words are stems; Japanese has no spaces, so its words are
matched anywhere in the text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Words (or, for inflecting languages, stems ending in "*") that ask for a human being.
WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "agent",
        "agents",
        "human",
        "humans",
        "operator",
        "operators",
        "person",
        "people",
        "representative",
        "rep",
        "someone real",
        "real person",
        "live agent",
        "staff",
        "customer service",
        "speak to someone",
        "talk to someone",
    ),
    "de": (
        "mensch",
        "menschen",
        "mitarbeiter",
        "mitarbeiterin",
        "mitarbeitern",
        "operator",
        "person",
        "agent",
        "agentin",
        "berater",
        "beraterin",
        "sachbearbeiter",
        "sachbearbeiterin",
        "kundendienst",
        "kundenservice",
        "jemanden sprechen",
    ),
    "fr": (
        "humain",
        "humaine",
        "opérateur",
        "opératrice",
        "operateur",
        "operatrice",
        "personne",
        "conseiller",
        "conseillère",
        "agent",
        "représentant",
        "representant",
        "quelqu'un",
        "service client",
    ),
    "es": (
        "humano",
        "humana",
        "operador",
        "operadora",
        "persona",
        "agente",
        "representante",
        "asesor",
        "asesora",
        "alguien real",
    ),
    "it": (
        "umano",
        "umana",
        "operatore",
        "operatrice",
        "persona",
        "agente",
        "rappresentante",
        "consulente",
        "assistenza clienti",
    ),
    "nl": (
        "mens",
        "medewerker",
        "medewerkster",
        "operator",
        "persoon",
        "agent",
        "vertegenwoordiger",
        "klantenservice",
        "iemand spreken",
    ),
    "pt": (
        "humano",
        "humana",
        "operador",
        "operadora",
        "pessoa",
        "atendente",
        "agente",
        "representante",
        "alguém",
    ),
    "pl": (
        "człowiek*",
        "konsultant*",
        "operator*",
        "osob*",
        "osób",
        "agent*",
        "przedstawiciel*",
        "pracownik*",
        "obsług* klienta",
    ),
    "sv": (
        "människa",
        "människor",
        "operatör",
        "operatören",
        "person",
        "agent",
        "handläggare",
        "representant",
        "kundtjänst",
        "handläggaren",
    ),
}
# No word boundaries in Japanese: these are found anywhere in the message.
SUBSTRINGS: dict[str, tuple[str, ...]] = {
    "ja": ("オペレーター", "担当者", "人間", "有人", "スタッフ", "人と話"),
}

BUTTON_TEXT = "Talk to a person"


def _fold(text: str) -> str:
    # NFKC turns full-width letters (some keyboards type them) into plain ones.
    return unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")


def _pattern_for(word: str) -> str:
    parts = []
    for token in _fold(word).split():
        if token.endswith("*"):
            parts.append(re.escape(token[:-1]) + r"\w*")
        else:
            parts.append(re.escape(token))
    return r"\s+".join(parts)


_WORD_RE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(sorted({_pattern_for(w) for words in WORDS.values() for w in words}, key=len, reverse=True))
    + r")(?!\w)"
)
_SUBSTRINGS = tuple(_fold(s) for words in SUBSTRINGS.values() for s in words)


@dataclass(frozen=True)
class HandoffRequest:
    """What in the message asked for a person (shown to the agent)."""

    matched: str


def asks_for_person(text: str) -> HandoffRequest | None:
    """The words in ``text`` that ask for a human, or None.

    >>> asks_for_person("OPERATOR!!")
    HandoffRequest(matched='operator')
    """
    folded = _fold(text)
    match = _WORD_RE.search(folded)
    if match:
        return HandoffRequest(matched=" ".join(match.group(0).split()))
    for needle in _SUBSTRINGS:
        if needle in folded:
            return HandoffRequest(matched=needle)
    return None
