"""Every non-trivial read of the policies app (C5), one module per concept, re-exported here."""

from regard.policies.selectors.promises import (
    BrokenPromise,
    promise_get,
    promise_list,
    promises_broken_since,
    promises_for_customers,
    promises_open_for_group,
)

__all__ = [
    "BrokenPromise",
    "promise_get",
    "promise_list",
    "promises_broken_since",
    "promises_for_customers",
    "promises_open_for_group",
]
