"""The reply check (C4, S7, S8): read an agent's draft against the profile before it is sent.

Each rule is one small function ``rule(draft, facts) -> list[Finding]`` over a parsed draft
and a snapshot of what we know; ``RULES`` lists them, ``check_reply`` runs them all. Rules
read English, German and French. A finding is advice: the agent can still send, and the
override is recorded on the message.

* ``draft``: reading a draft (greeting, sentences, how many things each asks);
* ``facts``: what we know about the person and the desk, taken once per check;
* ``rules``: the desk's own rules and ``RULES``, the one list of them;
* ``registry``: ``check_reply``, and ``register_reply_rule`` for the rules of apps built
  on the desk (registered in their ``AppConfig.ready()``).

Callers import from here; the names are the same as when this was one module.
"""

from regard.support.reply_check.draft import Draft, Sentence, parse_draft
from regard.support.reply_check.facts import FACT_PATTERNS, Facts, canned_texts_for, facts_for
from regard.support.reply_check.registry import ReplyRule, check_reply, register_reply_rule
from regard.support.reply_check.rules import (
    RULES,
    Finding,
    Rule,
    asks_known_fact,
    canned_unchanged,
    generic_greeting,
    run_rules,
    too_many_requests,
    wrong_form_of_address,
)

__all__ = [
    "FACT_PATTERNS",
    "RULES",
    "Draft",
    "Facts",
    "Finding",
    "ReplyRule",
    "Rule",
    "Sentence",
    "asks_known_fact",
    "canned_texts_for",
    "canned_unchanged",
    "check_reply",
    "facts_for",
    "generic_greeting",
    "parse_draft",
    "register_reply_rule",
    "run_rules",
    "too_many_requests",
    "wrong_form_of_address",
]
