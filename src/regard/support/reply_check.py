"""The reply check (C4, S7, S8): read an agent's draft against the profile before it is sent.

Each rule is one small function ``rule(draft, facts) -> list[Finding]`` over a parsed draft
and a snapshot of what we know; ``RULES`` lists them, ``check_reply`` runs them all. Rules
read English, German and French. A finding is advice: the agent can still send, and the
override is recorded on the message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from rapidfuzz import fuzz

from regard.customers.models import Customer, Identifier

# --- findings and inputs --------------------------------------------------------------------


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


Rule = Callable[[Draft, Facts], list[Finding]]


# --- reading a draft -----------------------------------------------------------------------

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


# --- the rules -------------------------------------------------------------------------------


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


# --- the interface the desk calls --------------------------------------------------------------


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


def check_reply(*, draft: str, conversation: Any, customer: Customer) -> list[Finding]:
    """Everything the agent should look at before this draft goes to the customer (S7, S8).

    The desk's own rules, then the rules other apps registered with ``register_reply_rule``.
    """
    findings = run_rules(draft, facts_for(customer=customer, conversation=conversation))
    registered = (rule(draft, conversation, customer) for rule in _reply_rules.values())
    return findings + [finding for found in registered for finding in found]


# (draft, conversation or None, customer) -> findings the agent should look at before sending.
# Apps built on the desk (policies: promise language, questions a policy makes unnecessary)
# register theirs in ``AppConfig.ready()``; the support app never imports them.
ReplyRule = Callable[[str, Any, Customer], list[Finding]]
_reply_rules: dict[str, ReplyRule] = {}


def register_reply_rule(key: str, rule: ReplyRule) -> None:
    _reply_rules[key] = rule
