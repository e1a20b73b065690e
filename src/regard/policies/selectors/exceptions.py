"""Reading the exceptions registry (C5, S11): groups with their count over time, members, overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from regard.errors import InvalidInput, NotFound
from regard.policies.models import ExceptionEntry, ExceptionGroup
from regard.policies.similarity import nearest_group
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record_reads

CHART_WEEKS = 12


def group_is_overdue(group: ExceptionGroup, *, now: datetime) -> bool:
    """Undecided past its decision date: the worst option, doing nothing, made visible (S11)."""
    return (
        group.state == ExceptionGroup.State.UNDECIDED
        and group.decision_due_at is not None
        and group.decision_due_at <= now
    )


def exception_groups(
    *, actor: AnyUser, state: str = "", overdue_only: bool = False, now: datetime | None = None
) -> QuerySet[ExceptionGroup]:
    """Groups, the most requested first; labels are request wording, no customer is named."""
    access.require(actor, Capability.EXCEPTION_LOG)
    now = now or timezone.now()
    groups = ExceptionGroup.objects.select_related("owner")
    if state:
        if state not in ExceptionGroup.State.values:
            raise InvalidInput(f"state: one of {', '.join(ExceptionGroup.State.values)}.", field="state")
        groups = groups.filter(state=state)
    if overdue_only:
        groups = groups.filter(state=ExceptionGroup.State.UNDECIDED, decision_due_at__lte=now)
    return groups.order_by("-member_count", "id")


def exception_group_get(*, actor: AnyUser, group_id: int, via: str = "api") -> ExceptionGroup:
    access.require(actor, Capability.EXCEPTION_LOG)
    group = ExceptionGroup.objects.select_related("owner", "decided_by").filter(pk=group_id).first()
    if group is None:
        raise NotFound(f"group_id: no exception group {group_id}.", field="group_id")
    return group


def group_members(*, actor: AnyUser, group: ExceptionGroup, via: str = "api") -> list[ExceptionEntry]:
    """The group's exceptions, newest first; the customers shown are audited as read."""
    access.require(actor, Capability.EXCEPTION_LOG)
    members = list(
        group.members.select_related("customer", "logged_by", "conversation").order_by("-logged_at", "-id")
    )
    audit_record_reads(
        actor=actor,
        customer_ids=sorted({m.customer_id for m in members}),
        object_type="exception",
        via=via,
        detail={"group": group.pk},
    )
    return members


def exception_list(
    *,
    actor: AnyUser,
    customer_ids: list[int] | None = None,
    limit: int = 50,
    offset: int = 0,
    via: str = "api",
) -> list[ExceptionEntry]:
    access.require(actor, Capability.EXCEPTION_LOG)
    rows = ExceptionEntry.objects.select_related("group", "customer").order_by("-logged_at", "-id")
    if customer_ids:
        rows = rows.filter(customer_id__in=customer_ids)
    page = list(rows[offset : offset + max(1, min(limit, 200))])
    audit_record_reads(
        actor=actor, customer_ids=sorted({e.customer_id for e in page}), object_type="exception", via=via
    )
    return page


@dataclass(frozen=True)
class WeekCount:
    week_start: date
    count: int


def group_counts_by_week(
    *, group: ExceptionGroup, now: datetime | None = None, weeks: int = CHART_WEEKS
) -> list[WeekCount]:
    """Exceptions per week (Monday to Sunday) over the last ``weeks`` weeks, oldest first."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    counts = {first + timedelta(weeks=i): 0 for i in range(weeks)}
    since = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    for logged_at in group.members.filter(is_covered_by_decision=False, logged_at__gte=since).values_list(
        "logged_at", flat=True
    ):
        day = timezone.localtime(logged_at).date()
        week = day - timedelta(days=day.weekday())
        if week in counts:
            counts[week] += 1
    return [WeekCount(week_start=week, count=count) for week, count in counts.items()]


def declined_group_matching(text: str) -> tuple[ExceptionGroup | None, float]:
    """The declined group whose requests ``text`` is worded like, if any (two queries)."""
    if not text.strip():
        return None, 0.0
    exemplars = list(
        ExceptionEntry.objects.filter(
            Q(is_exemplar=True), group__state=ExceptionGroup.State.DECLINED
        ).values_list("group_id", "request_text")
    )
    group_id, score = nearest_group(text, exemplars)
    if group_id is None:
        return None, score
    return ExceptionGroup.objects.filter(pk=group_id).first(), score
