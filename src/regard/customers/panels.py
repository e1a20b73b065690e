"""Sections that apps built on customers add to Customer 360, registered explicitly.

The customers app must not import the apps built on it (consent, outreach, policies,
insights), yet Customer 360 shows their data (consent in force, every message with the
gate's reasons, entitlements, promises, the mirror link). Each such app registers a panel
function in its ``AppConfig.ready()``; the page calls every registered panel in order and
shows a ``main`` panel in the page's body, a ``side`` one beside the profile.

A panel function takes the acting user, the customer and the ids of the merge group, and
returns a ``Panel`` or ``None`` (nothing to show, or the role may not see it). It must not
write, and should keep to a fixed number of queries (the page's query count is pinned).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from regard.customers.models import Customer


@dataclass(frozen=True)
class Panel:
    """One section of a page: a template included with ``panel`` in its context."""

    key: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    place: str = "side"  # "main": a section of the page's body


CustomerPanel = Callable[[User | AnonymousUser, Customer, list[int]], Panel | None]

_customer_panels: dict[str, CustomerPanel] = {}


def register_customer_panel(key: str, panel: CustomerPanel) -> None:
    _customer_panels[key] = panel


def customer_panels(*, actor: User | AnonymousUser, customer: Customer, group: list[int]) -> list[Panel]:
    shown = (panel(actor, customer, group) for panel in _customer_panels.values())
    return [panel for panel in shown if panel is not None]
