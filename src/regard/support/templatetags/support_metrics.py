"""``{% conversation_metrics conversation %}``: the measures box on the conversation page (C4, S9)."""

from __future__ import annotations

from typing import Any

from django import template

from regard.support.metrics import conversation_metrics as measure_conversation

register = template.Library()


def _duration(minutes: int) -> str:
    hours, rest = divmod(max(0, minutes), 60)
    if hours >= 24:
        days, hours = divmod(hours, 24)
        return f"{days} d {hours} h"
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


@register.filter
def working_time(minutes: int) -> str:
    """Working minutes as "1 h 05 min" (working hours, not days of 24 h)."""
    hours, rest = divmod(max(0, minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


@register.filter
def wall_time(seconds: int) -> str:
    return _duration(seconds // 60)


@register.inclusion_tag("support/_metrics.html", takes_context=True)
def conversation_metrics(context: dict[str, Any], conversation: Any) -> dict[str, Any]:
    request = context["request"]
    return {"metrics": measure_conversation(actor=request.user, conversation_id=conversation.pk)}
