"""Insights over HTTP (C6): the customer mirror, the service dashboard, the recovery worklist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema

from regard.api.auth import ApiRequest, requires
from regard.insights.models import RecoveryItem
from regard.insights.selectors import dashboard as dashboard_selectors
from regard.insights.selectors import recovery as recovery_selectors
from regard.insights.selectors.mirror import customer_mirror
from regard.insights.services import recovery as recovery_services
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
def mirror(request: ApiRequest, customer_id: int, query: Query[MirrorQuery]) -> HttpResponse:
    found = customer_mirror(
        actor=request.auth, customer_id=customer_id, since=query.since, until=query.until, via="api"
    )
    # The same JSON the router would render from as_dict(), rendered once per mirror.
    return HttpResponse(found.as_json(), content_type="application/json; charset=utf-8")


# --- the recovery worklist (S24) -------------------------------------------------------------


class RecoveryItemOut(Schema):
    id: int
    customer_id: int
    customer: str
    trigger: str
    reason: str
    severity: int
    occurred_at: datetime
    state: str
    claimed_by: str | None
    claim_due_at: datetime
    escalated_at: datetime | None
    action: str
    note: str
    mirror_url: str


class RecoveryCloseIn(Schema):
    action: str
    note: str = ""


def _recovery_out(item: RecoveryItem) -> RecoveryItemOut:
    return RecoveryItemOut(
        id=item.pk,
        customer_id=item.customer_id,
        customer=item.customer.display_name,
        trigger=item.trigger,
        reason=item.reason,
        severity=item.severity,
        occurred_at=item.occurred_at,
        state=item.state,
        claimed_by=item.claimed_by.get_username() if item.claimed_by else None,
        claim_due_at=item.claim_due_at,
        escalated_at=item.escalated_at,
        action=item.action,
        note=item.note,
        mirror_url=reverse("insights:mirror", args=[item.customer_id]),
    )


@recovery_router.get(
    "",
    auth=requires(Capability.RECOVERY_WORK),
    response=list[RecoveryItemOut],
    summary="Customers who just had a bad experience, worst and most recent first",
)
def recovery_list(request: ApiRequest, state: str = "active") -> list[RecoveryItemOut]:
    rows = recovery_selectors.recovery_worklist(actor=request.auth, state=state, via="api")
    return [_recovery_out(row.item) for row in rows]


@recovery_router.post(
    "/{item_id}/claim",
    auth=requires(Capability.RECOVERY_WORK),
    response=RecoveryItemOut,
    summary="Take up an item",
)
def recovery_claim(request: ApiRequest, item_id: int) -> RecoveryItemOut:
    item = recovery_selectors.recovery_item_get(actor=request.auth, item_id=item_id)
    return _recovery_out(recovery_services.recovery_claim(actor=request.auth, item=item))


@recovery_router.post(
    "/{item_id}/close",
    auth=requires(Capability.RECOVERY_WORK),
    response=RecoveryItemOut,
    summary="Close an item with what was done (apology, call, credit, promise, other)",
)
def recovery_close(request: ApiRequest, item_id: int, payload: RecoveryCloseIn) -> RecoveryItemOut:
    item = recovery_selectors.recovery_item_get(actor=request.auth, item_id=item_id)
    closed = recovery_services.recovery_close(
        actor=request.auth, item=item, action=payload.action, note=payload.note
    )
    return _recovery_out(closed)


# --- the service dashboard (aggregates only) --------------------------------------------------


class DashboardQuery(Schema):
    since: datetime | None = None
    until: datetime | None = None
    channel: str = ""
    team: str = ""


@dashboard_router.get(
    "",
    auth=requires(Capability.DASHBOARD_READ),
    response=dict[str, Any],
    summary="Service measures by channel, team and week; campaign, contact-pressure and retention figures",
)
def dashboard(request: ApiRequest, query: Query[DashboardQuery]) -> dict[str, Any]:
    filters = dashboard_selectors.dashboard_filters(
        since=query.since, until=query.until, channel=query.channel, team=query.team
    )
    return dashboard_selectors.service_dashboard(actor=request.auth, filters=filters)
