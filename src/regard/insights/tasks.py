"""Background tasks of the insights app; each lives beside the service it runs."""

from regard.insights.services.recovery import recovery_escalate, recovery_scan_task

__all__ = ["recovery_escalate", "recovery_scan_task"]
