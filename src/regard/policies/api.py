"""Policies over HTTP (C5): entitlements, remedies, promises, the exceptions registry.

Thin: selectors check the role and audit reads, services write.
"""

from __future__ import annotations

from ninja import Router

# Mounted at /customers and /orders (entitlements, remedies of one customer or order line).
customer_policies_router = Router(tags=["policies"])
order_policies_router = Router(tags=["policies"])
policies_router = Router(tags=["policies"])
promises_router = Router(tags=["policies"])
exceptions_router = Router(tags=["policies"])

# The promise routes live beside their schemas (registered on promises_router on import).
from regard.policies import promise_api  # noqa: E402,F401
