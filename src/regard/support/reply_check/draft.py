"""Reading a draft: its greeting, its sentences, and how many things each one asks (S7, S8).

English, German and French. The words a greeting is read with (generic addressees,
salutations, titles, placeholders) live here too, since the rules judge by the same lists.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sentence:
    text: str
    is_request: bool  # asks the customer for something or to do something
    # How many things it asks: "send a video, a photo of the receipt, and try a reset" is three.
    requests: int = -1

    @property
    def request_count(self) -> int:
        if self.requests >= 0:
            return self.requests
        return 1 if self.is_request else 0


@dataclass(frozen=True)
class Draft:
    text: str
    greeting_word: str = ""  # "hi", "dear", "hallo" … ("" when the draft opens without one)
    addressee: str = ""  # what follows the greeting word: "Fabrizio", "Generic User", "there"
    greeting_line: str = ""
    sentences: tuple[Sentence, ...] = field(default_factory=tuple)


_GREETING = re.compile(
    r"^\s*(?P<word>good\s+(?:morning|afternoon|evening)|guten\s+(?:tag|morgen|abend)|sehr\s+geehrte[rs]?"
    r"|hi|hello|hey|dear|greetings|hallo|moin|servus|liebe[rs]?|bonjour|bonsoir|salut|coucou|cher|chère)"
    r"\b[ \t]*(?P<rest>[^,!:;\n]*)",
    re.IGNORECASE,
)
_FRENCH_GENERIC_OPENING = re.compile(
    r"^\s*(madame,?\s*monsieur|monsieur,?\s*madame|madame\s*/\s*monsieur)", re.I
)
_INFORMAL_WORDS = {"hi", "hey", "hallo", "moin", "servus", "salut", "coucou"}
_GENERIC_ADDRESSEES = {
    # English
    "there", "all", "everyone", "everybody", "customer", "valued customer", "dear customer", "user",
    "generic user", "sir", "madam", "sir or madam", "sir/madam", "madam or sir", "friend", "team", "folks",
    "client", "member", "guest",
    # German
    "kunde", "kundin", "kundin, lieber kunde", "damen und herren", "nutzer", "nutzerin", "zusammen",
    "kundschaft",
    # French
    "cliente", "madame", "monsieur", "madame, monsieur", "utilisateur", "utilisatrice", "tous",
}  # fmt: skip
_PLACEHOLDER = re.compile(
    r"\{\{.*?\}\}|\{[a-z_]+\}|\[(?:name|first ?name|customer)\]|%[A-Z_]+%|generic user", re.I
)
_SALUTATIONS = {
    "mr": "m", "mister": "m", "herr": "m", "monsieur": "m", "m": "m",
    "ms": "f", "mrs": "f", "miss": "f", "frau": "f", "madame": "f", "mme": "f", "mlle": "f",
    "mx": "x",
}  # fmt: skip
_TITLES = {"dr", "prof", "professor", "doctor", "docteur", "maître", "me"}

# A sentence that asks something of the customer, in any of the three languages: a question,
# a request word anywhere, or an imperative at its start ("Send us…", "Schicken Sie…", "Envoyez…").
_REQUEST = re.compile(
    r"\?|\b(?:please|kindly|could you|can you|would you|will you|do you mind|we need you to|you need to|"
    r"you must|bitte|könnten sie|können sie|würden sie|pourriez-vous|pouvez-vous|pourrais-tu|merci de|"
    r"veuillez)\b"
    r"|^(?:(?:also|and|then|next|first|finally|additionally|lastly|auch|dann|außerdem|zuerst|zusätzlich),?\s+)?"
    r"(?:send|provide|attach|upload|perform|try|confirm|share|tell us|let us know|check|restart|reset|"
    r"follow|make sure|take|reply with|(?:schicken|senden|teilen|geben|führen|nennen|prüfen|versuchen|"
    r"starten|setzen|antworten) sie|envoyez|indiquez|effectuez|essayez|confirmez|vérifiez|redémarrez)\b",
    re.IGNORECASE,
)
# Courtesy lines and offers of help are not tasks for the customer.
_COURTESY = re.compile(
    r"feel free|don't hesitate|do not hesitate|if (?:the )?(?:issue|problem|it) (?:still )?persists|"
    r"if you have any (?:other |further )?questions|anything else|can i help|may i help|how can (?:i|we) help|"
    r"zögern sie nicht|bei (?:weiteren )?fragen|kann ich (?:ihnen )?(?:sonst )?(?:noch )?(?:weiter)?helfen|"
    r"n'hésitez pas|puis-je vous aider|autre chose",
    re.IGNORECASE,
)
# Within one asking sentence, a list of asks: "send a video of the issue, a photo of the receipt,
# and try a factory reset first" is three (S8). An item after a comma counts when it names
# another thing to hand over (an article or "your") or starts with another task.
_ASK_VERBS = (
    r"send|provide|attach|upload|perform|try|confirm|share|tell|check|restart|reset|follow|make\s+sure|take|"
    r"describe|record|return|enter|install|update|remove|charge|unplug|reply|"
    r"(?:schicken|senden|teilen|geben|führen|nennen|prüfen|versuchen|starten|setzen|antworten|laden|"
    r"beschreiben|überprüfen)\s+sie"
)
_ASK_SEPARATOR = re.compile(
    rf",\s*(?:(?:and|or|und|oder|sowie)\s+)?|;\s*|\s+(?=(?:and|und)\s+(?:please\s+|bitte\s+)?(?:{_ASK_VERBS})\b)",
    re.I,
)
_ANOTHER_ASK = re.compile(
    r"^(?:and\s+|or\s+|und\s+|oder\s+|also\s+|then\s+|auch\s+|dann\s+)?(?:please\s+|bitte\s+)?"
    r"(?:(?:a|an|the|your|some|any|ein|eine|einen|ihr|ihre|ihren|den|die|das)\s+\w"
    rf"|(?:{_ASK_VERBS})\b)",
    re.I,
)
_BARE_ADVERB = re.compile(
    r"also|and|then|next|first|finally|additionally|lastly|auch|dann|außerdem|zuerst|zusätzlich", re.I
)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)]|[a-z][.)])\s+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜÀ-Ý0-9\"'“„])")


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for comparing names ("Müller" ~ "muller")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip(".,;:!?'\"")


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def parse_draft(text: str) -> Draft:
    lines = [line.strip() for line in text.strip().splitlines()]
    first = next((line for line in lines if line), "")
    word = rest = ""
    body = lines
    opening = re.sub(r"\b(Dr|Prof|Mr|Mrs|Ms|Mx|Mme|Mlle|M)\.", r"\1", first)
    if french := _FRENCH_GENERIC_OPENING.match(opening):
        word, rest = "madame", "madame, monsieur"
        body = [opening[french.end() :].lstrip(",!:; "), *lines[lines.index(first) + 1 :]]
    elif match := _GREETING.match(opening):
        word = " ".join(match.group("word").lower().split())
        rest = " ".join(match.group("rest").split()).rstrip(".")
        # What follows the greeting on its line ("Hi Jo, could you …") is part of the reply.
        body = [opening[match.end() :].lstrip(",!:; "), *lines[lines.index(first) + 1 :]]
    return Draft(
        text=text, greeting_word=word, addressee=rest, greeting_line=first, sentences=tuple(_sentences(body))
    )


def _asks_in(sentence: str) -> int:
    """How many things one asking sentence asks for (at least one)."""
    parts = [part.strip() for part in _ASK_SEPARATOR.split(sentence) if part and part.strip()]
    lead = 0 if parts and _BARE_ADVERB.fullmatch(parts[0]) else 1  # "Also, check …" is one ask
    return max(1, lead + sum(1 for part in parts[1:] if _ANOTHER_ASK.match(part)))


def _sentences(lines: Sequence[str]) -> Iterable[Sentence]:
    """Split into sentences; items of a list introduced by a request are requests themselves."""
    list_asks = False
    for line in lines:
        if line == "--":
            break  # the signature follows
        if not line or line.startswith(">"):
            continue  # quoted text is the customer's, not ours
        marker = _LIST_ITEM.match(line)
        is_item = marker is not None
        if marker is None:
            list_asks = False
        else:
            line = line[marker.end() :]
        for part in _SENTENCE_END.split(line):
            part = part.strip()
            if not part:
                continue
            if part.endswith(":") and _REQUEST.search(part) and not is_item:
                list_asks = True  # "Please provide the information below:" — the items are the asks
                continue
            asks = ((is_item and list_asks) or bool(_REQUEST.search(part))) and not _COURTESY.search(part)
            yield Sentence(part, asks, _asks_in(part) if asks else 0)
