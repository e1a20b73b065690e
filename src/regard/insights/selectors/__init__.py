"""Reads of the insights app: the customer mirror (C6)."""

from regard.insights.selectors.mirror import MAX_DAYS, Mirror, customer_mirror, mirror_period

__all__ = ["MAX_DAYS", "Mirror", "customer_mirror", "mirror_period"]
