"""What apps built on the support desk add to a conversation's sidebar, registered explicitly.

The support app must not import policies or insights, yet the conversation's customer-first
sidebar shows their panels (entitlements, open promises, the mirror link). Each such app
registers here in its ``AppConfig.ready()``; reply-check rules register beside the reply
check (``support.reply_check.register_reply_rule``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser, User

from regard.customers.panels import Panel
from regard.support.models import Conversation

# (actor, conversation, merge group ids) -> a sidebar panel, or None.
SidebarPanel = Callable[[User | AnonymousUser, Conversation, list[int]], Panel | None]

_sidebar_panels: dict[str, SidebarPanel] = {}


def register_sidebar_panel(key: str, panel: SidebarPanel) -> None:
    _sidebar_panels[key] = panel


def sidebar_panels(
    *, actor: User | AnonymousUser, conversation: Conversation, group: list[int]
) -> list[Panel]:
    shown = (panel(actor, conversation, group) for panel in _sidebar_panels.values())
    return [panel for panel in shown if panel is not None]
