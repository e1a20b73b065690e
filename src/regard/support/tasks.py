"""Background tasks of the support desk (Django Tasks API, database backend)."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task


@task()
def sla_timer(conversation_id: int, target: str, stage: str, due_at: str) -> str:
    """One SLA timer, scheduled with ``run_after`` at the moment it concerns (C4, S14).

    It re-reads the conversation when it fires: a timer whose due time has moved, or whose
    target was met meanwhile, does nothing. Running it twice alerts once.
    """
    from regard.support.sla import sla_timer_fire

    return sla_timer_fire(
        conversation_id=conversation_id, target=target, stage=stage, due_at=datetime.fromisoformat(due_at)
    )


@task()
def webhook_deliver(delivery_id: int) -> str:
    """One attempt at a signed webhook delivery; a failure schedules the next with backoff."""
    from regard.support.webhooks import deliver

    return deliver(delivery_id)
