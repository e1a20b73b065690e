"""The REST API at /api/v1/, assembled from each app's router."""

from __future__ import annotations

from regard.api import errors
from regard.api.auth import BearerToken
from regard.api.openapi import RegardAPI
from regard.consent.api import router as consent_router
from regard.consent.api import suppression_router
from regard.customers.api import merges_router, orders_router
from regard.customers.api import router as customers_router
from regard.insights.api import customer_insights_router, dashboard_router, recovery_router
from regard.matching.api import candidates_router, runs_router
from regard.outreach.api import campaigns_router, messages_router
from regard.outreach.events_api import events_router
from regard.policies.api import customer_policies_router, order_policies_router, policies_router
from regard.policies.exception_api import exceptions_router
from regard.policies.promise_api import promises_router
from regard.privacy.api import router as privacy_router
from regard.privacy.erasure_api import erasure_router
from regard.privacy.export_api import export_router
from regard.support.api import calls_router, conversations_router, webhooks_router
from regard.support.metrics_api import metrics_router

api = RegardAPI(
    title="Regard API",
    version="1",
    description="Customers, identifiers, orders and timelines. Authenticate with "
    "`Authorization: Bearer <token>` (create one with `regard token create --user NAME`).",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=BearerToken(),
)
errors.install(api)
api.add_router("/customers", customers_router)
api.add_router("/orders", orders_router)
api.add_router("/merges", merges_router)
api.add_router("/audit", privacy_router)
api.add_router("/match-candidates", candidates_router)
api.add_router("/match", runs_router)
api.add_router("/customers", consent_router)
api.add_router("/suppression", suppression_router)
api.add_router("/campaigns", campaigns_router)
api.add_router("/messages", messages_router)
api.add_router("/events", events_router)
api.add_router("/conversations", conversations_router)
api.add_router("/conversations", metrics_router)
api.add_router("/calls", calls_router)
api.add_router("/webhooks", webhooks_router)
api.add_router("/customers", customer_policies_router)
api.add_router("/orders", order_policies_router)
api.add_router("/policies", policies_router)
api.add_router("/promises", promises_router)
api.add_router("/exceptions", exceptions_router)
api.add_router("/customers", customer_insights_router)
api.add_router("/customers", erasure_router)
api.add_router("/dashboard", dashboard_router)
api.add_router("/recovery", recovery_router)
api.add_router("/customers", export_router)
