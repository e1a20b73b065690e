"""GET /api/v1/conversations/{id}/metrics: the measures of one conversation (C4, S9)."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema

from regard.api.auth import ApiRequest, requires
from regard.privacy.roles import Capability
from regard.support.metrics import conversation_metrics

metrics_router = Router(tags=["support"])


class WaitOut(Schema):
    started_at: datetime
    ended_at: datetime | None  # null: still waiting
    wall_seconds: int
    working_minutes: int  # on the team's business hours and public holidays
    due_at: datetime | None


class ConversationMetricsOut(Schema):
    conversation_id: int
    time_zone: str
    first_response: WaitOut
    next_responses: list[WaitOut]
    resolution: WaitOut
    customer_messages: int
    agent_messages: int
    handoffs: int
    reopenings: int
    first_response_met: bool | None
    resolution_met: bool | None
    sla_breached_at: datetime | None
    satisfaction_score: int | None


@metrics_router.get(
    "/{conversation_id}/metrics",
    auth=requires(Capability.CONVERSATION_READ),
    response=ConversationMetricsOut,
    summary="Measures of one conversation: first, every next response and resolution in working and wall time",
)
def get_conversation_metrics(request: ApiRequest, conversation_id: int) -> ConversationMetricsOut:
    metrics = conversation_metrics(actor=request.auth, conversation_id=conversation_id)
    return ConversationMetricsOut(**metrics.as_dict())
