"""Background work of outreach, on the Tasks API (django-tasks, database backend)."""

from __future__ import annotations

from django_tasks import task


@task()
def dispatch_due() -> dict[str, int]:
    """Send what is due now; enqueued after commit whenever the outbox gains rows."""
    from regard.outreach.dispatcher import dispatch_until_idle
    from regard.outreach.services import campaigns_finish

    counts = dict(dispatch_until_idle(max_batches=50))
    counts["campaigns_finished"] = campaigns_finish()
    return counts
