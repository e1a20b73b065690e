"""Insights over HTTP (C6): the customer mirror, the service dashboard, the recovery worklist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Query, Router, Schema

from regard.api.auth import ApiRequest, requires
from regard.insights.selectors.mirror import customer_mirror
from regard.privacy.roles import Capability

# Mounted at /customers (the mirror of one customer).
customer_insights_router = Router(tags=["insights"])
dashboard_router = Router(tags=["insights"])
recovery_router = Router(tags=["insights"])


class MirrorQuery(Schema):
    since: datetime | None = None
    until: datetime | None = None


@customer_insights_router.get(
    "/{customer_id}/mirror",
    auth=requires(Capability.MIRROR_READ),
    response=dict[str, Any],
    summary="What the company did to this person over a period (default 90 days, at most 2 years)",
)
def mirror(request: ApiRequest, customer_id: int, query: Query[MirrorQuery]) -> dict[str, Any]:
    return customer_mirror(
        actor=request.auth, customer_id=customer_id, since=query.since, until=query.until, via="api"
    ).as_dict()
