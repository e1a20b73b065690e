"""Every write of the insights app (C6), one module per concept, re-exported here."""

from regard.insights.services.recovery import (
    recovery_claim,
    recovery_close,
    recovery_escalate_if_unclaimed,
    recovery_kick_off,
    recovery_scan,
)

__all__ = [
    "recovery_claim",
    "recovery_close",
    "recovery_escalate_if_unclaimed",
    "recovery_kick_off",
    "recovery_scan",
]
