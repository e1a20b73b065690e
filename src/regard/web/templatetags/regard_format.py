"""Numbers as people read them on Regard's pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def likelihood(probability: float | None) -> str:
    """A match probability as a percentage that still tells strong matches apart: near
    certainty shows as "> 99.99 %", never as a row of "1.0000"."""
    if probability is None:
        return "—"
    percent = probability * 100
    if percent >= 99.995:
        return "> 99.99 %"
    if percent < 0.005:
        return "< 0.01 %"
    return f"{percent:.2f} %"


@register.filter
def event_label(kind: str) -> str:
    """A timeline event's kind in words: "conversation.message_received" → "conversation: message received"."""
    category, _, action = kind.partition(".")
    if not action:
        return category.replace("_", " ")
    return f"{category.replace('_', ' ')}: {action.replace('_', ' ')}"
