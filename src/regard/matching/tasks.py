"""Background tasks of identity resolution."""

from __future__ import annotations

from django_tasks import task

from regard.matching.models import MatchRun


@task()
def match_run_task(run_id: int) -> None:
    """Run one queued batch run; a retry of a finished run does nothing."""
    from regard.matching import services

    run = MatchRun.objects.get(pk=run_id)
    if run.status == MatchRun.Status.DONE:
        return
    services.match_run_execute(run=run)
