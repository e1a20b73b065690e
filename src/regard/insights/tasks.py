"""Background tasks of the insights app; each lives beside the service it runs."""

from regard.insights.services.recovery import recovery_escalate, recovery_scan_task
from regard.insights.services.rollups import dashboard_rollup_task

__all__ = ["dashboard_rollup_task", "recovery_escalate", "recovery_scan_task"]
