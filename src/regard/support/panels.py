"""What apps built on the support desk add to a conversation, registered explicitly.

The support app must not import policies or insights, yet the conversation's customer-first
sidebar shows their panels (entitlements, open promises, the mirror link) and the reply
check applies their rules (promise language, questions a policy makes unnecessary). Each
such app registers here in its ``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser, User

from regard.customers.models import Customer
from regard.customers.panels import Panel
from regard.support.models import Conversation
from regard.support.reply_check import Finding

# (actor, conversation, merge group ids) -> a sidebar panel, or None.
SidebarPanel = Callable[[User | AnonymousUser, Conversation, list[int]], Panel | None]
# (draft, conversation, customer) -> findings the agent should look at before sending.
ReplyRule = Callable[[str, Conversation | None, Customer], list[Finding]]

_sidebar_panels: dict[str, SidebarPanel] = {}
_reply_rules: dict[str, ReplyRule] = {}


def register_sidebar_panel(key: str, panel: SidebarPanel) -> None:
    _sidebar_panels[key] = panel


def register_reply_rule(key: str, rule: ReplyRule) -> None:
    _reply_rules[key] = rule


def sidebar_panels(
    *, actor: User | AnonymousUser, conversation: Conversation, group: list[int]
) -> list[Panel]:
    shown = (panel(actor, conversation, group) for panel in _sidebar_panels.values())
    return [panel for panel in shown if panel is not None]


def registered_reply_findings(
    *, draft: str, conversation: Conversation | None, customer: Customer
) -> list[Finding]:
    return [finding for rule in _reply_rules.values() for finding in rule(draft, conversation, customer)]
