"""Background tasks of identity resolution; each is defined beside the logic it runs."""

from regard.matching.services import match_run_task

__all__ = ["match_run_task"]
