"""Every write of the insights app (C6), one module per concept, re-exported here."""

from regard.insights.services.recovery import (
    recovery_claim,
    recovery_close,
    recovery_escalate_if_unclaimed,
    recovery_kick_off,
    recovery_scan,
)
from regard.insights.services.rollups import (
    dashboard_rollup_build,
    dashboard_rollup_kick_off,
    dashboard_rollup_refresh,
)

__all__ = [
    "dashboard_rollup_build",
    "dashboard_rollup_kick_off",
    "dashboard_rollup_refresh",
    "recovery_claim",
    "recovery_close",
    "recovery_escalate_if_unclaimed",
    "recovery_kick_off",
    "recovery_scan",
]
