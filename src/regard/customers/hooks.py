"""Who wants to know when a customer appears or gains an identifier.

Apps register a callable in their ``AppConfig.ready`` (identity resolution scores the
new record against possible duplicates). Services call ``customer_changed`` which runs
the hooks after the transaction commits, so customers never import those apps, and a
failing hook never undoes or blocks the customer's own write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)
CustomerHook = Callable[[int], None]
_hooks: list[CustomerHook] = []


def register_customer_changed(hook: CustomerHook) -> None:
    if hook not in _hooks:
        _hooks.append(hook)


def _run(customer_id: int) -> None:
    for hook in list(_hooks):
        try:
            hook(customer_id)
        except Exception:
            logger.exception("customer hook %r failed for customer %s", hook, customer_id)


def customer_changed(customer_id: int) -> None:
    """Run the registered hooks once the current transaction has committed."""
    if _hooks:
        transaction.on_commit(lambda: _run(customer_id))
