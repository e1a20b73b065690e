"""Who acted, as identity resolution's rows store it."""

from __future__ import annotations

from typing import Any

from regard.customers import services as customer_services

Actor = customer_services.Actor


def _user(actor: Actor) -> Any:
    """The signed-in user behind an actor; None for the system itself (CLI, auto merge)."""
    return actor if actor is not None and actor.is_authenticated else None
