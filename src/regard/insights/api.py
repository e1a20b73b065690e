"""Insights over HTTP (C6): the customer mirror, the service dashboard, the recovery worklist."""

from __future__ import annotations

from ninja import Router

# Mounted at /customers (the mirror of one customer).
customer_insights_router = Router(tags=["insights"])
dashboard_router = Router(tags=["insights"])
recovery_router = Router(tags=["insights"])
