"""Reading promises (C5). The mirror and the recovery worklist (C6) read through these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from regard.errors import InvalidInput, NotFound
from regard.policies.models import Promise
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record_reads

PAGE_LIMIT = 200


def promises_for_customers(
    *, customer_ids: list[int], since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Promise]:
    """Promises made to any of ``customer_ids`` (a merge group) in [since, until), oldest first.

    No access check: callers are selectors that have checked the actor already.
    """
    promises = Promise.objects.filter(customer_id__in=customer_ids)
    if since is not None:
        promises = promises.filter(created_at__gte=since)
    if until is not None:
        promises = promises.filter(created_at__lt=until)
    return promises.select_related("owner", "conversation").order_by("created_at", "id")


@dataclass(frozen=True)
class BrokenPromise:
    """One broken promise as the recovery worklist needs it (S22, S24)."""

    promise_id: int
    customer_id: int
    broken_at: datetime
    kind: str
    what: str
    due_at: datetime
    owner_id: int
    conversation_id: int | None


def promises_broken_since(*, since: datetime, until: datetime | None = None) -> list[BrokenPromise]:
    """Every promise broken in [since, until), each exactly once, oldest break first.

    A promise is broken once (the task changes only open promises), so a worklist that reads
    consecutive windows sees each break once. ``customer_id`` is the customer the promise is
    on now (merges move promises). No access check: the recovery selectors check the actor.
    """
    rows = Promise.objects.filter(state=Promise.State.BROKEN, settled_at__gte=since)
    if until is not None:
        rows = rows.filter(settled_at__lt=until)
    return [
        BrokenPromise(
            promise_id=p.pk,
            customer_id=p.customer_id,
            broken_at=p.settled_at,
            kind=p.kind,
            what=p.what,
            due_at=p.due_at,
            owner_id=p.owner_id,
            conversation_id=p.conversation_id,
        )
        for p in rows.order_by("settled_at", "id")
        if p.settled_at is not None
    ]


def _visible(actor: AnyUser) -> QuerySet[Promise]:
    """Agents see their own promises and their teams'; managers and admins every team's."""
    access.require(actor, Capability.PROMISE_WRITE)
    rows = Promise.objects.select_related("owner", "conversation", "customer", "team")
    if access.has_capability(actor, Capability.PROMISE_READ_ALL):
        return rows
    own_teams = Q(team__members=actor) | Q(team__lead=actor)
    return rows.filter(Q(owner=actor) | own_teams).distinct()


def promise_list(
    *,
    actor: AnyUser,
    state: str = "",
    owner: str = "",
    customer_id: int | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
    overdue: bool = False,
    team_only: bool = False,
    limit: int = 50,
    offset: int = 0,
    via: str = "api",
    now: datetime | None = None,
) -> list[Promise]:
    """Promises the actor may see, soonest due first; the customers shown are audited."""
    rows = _visible(actor)
    if state:
        if state not in Promise.State.values:
            raise InvalidInput(f"state: one of {', '.join(Promise.State.values)}.", field="state")
        rows = rows.filter(state=state)
    if owner:
        rows = rows.filter(owner__username=owner)
    if customer_id is not None:
        from regard.customers.models import Customer
        from regard.customers.selectors import customer_group_ids

        customer = Customer.objects.filter(pk=customer_id).first()
        if customer is None:
            raise NotFound(f"customer_id: no customer with id {customer_id}.", field="customer_id")
        rows = rows.filter(customer_id__in=customer_group_ids(customer))
    for name, value in (("due_before", due_before), ("due_after", due_after)):
        if value is not None and timezone.is_naive(value):
            raise InvalidInput(f"{name}: give a time zone.", field=name)
    if due_before is not None:
        rows = rows.filter(due_at__lt=due_before)
    if due_after is not None:
        rows = rows.filter(due_at__gte=due_after)
    if overdue:
        # Overdue: broken, or open past its due time with the task not yet run.
        now = now or timezone.now()
        rows = rows.filter(Q(state=Promise.State.BROKEN) | Q(state=Promise.State.OPEN, due_at__lt=now))
    if team_only:
        rows = rows.filter(Q(team__members=actor) | Q(team__lead=actor)).distinct()
    if not 1 <= limit <= PAGE_LIMIT:
        raise InvalidInput(f"limit: between 1 and {PAGE_LIMIT}.", field="limit")
    if offset < 0:
        raise InvalidInput("offset: 0 or more.", field="offset")
    page = list(rows.order_by("due_at", "id")[offset : offset + limit])
    audit_record_reads(
        actor=actor, customer_ids={p.customer_id for p in page}, object_type="promise", via=via
    )
    return page


def promise_get(*, actor: AnyUser, promise_id: int, via: str = "api") -> Promise:
    promise = _visible(actor).filter(pk=promise_id).first()
    if promise is None:
        raise NotFound(f"promise: no promise {promise_id} you may see.", field="promise")
    audit_record_reads(
        actor=actor,
        customer_ids=[promise.customer_id],
        object_type="promise",
        via=via,
        detail={"id": promise.pk},
    )
    return promise


def promises_open_for_group(*, group: list[int]) -> list[Promise]:
    """Open promises of a merge group, soonest due first (panels: one query; they check access)."""
    rows = Promise.objects.filter(customer_id__in=group, state=Promise.State.OPEN)
    return list(rows.select_related("owner", "conversation").order_by("due_at", "id")[:20])
