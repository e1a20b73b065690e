"""What the desk calls: ``check_reply`` runs the desk's rules, then those other apps registered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from regard.customers.models import Customer
from regard.support.reply_check.facts import facts_for
from regard.support.reply_check.rules import Finding, run_rules


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
