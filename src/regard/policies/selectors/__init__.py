"""Every non-trivial read of the policies app (C5), one module per concept, re-exported here."""

from regard.policies.selectors.promises import promises_for_customers

__all__ = ["promises_for_customers"]
