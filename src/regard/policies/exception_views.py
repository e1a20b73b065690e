"""The exceptions registry's pages (C5, S11): groups, their count over time, members, decisions."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from regard.errors import NotFound, RegardError
from regard.inputs import whole_number
from regard.policies.models import ExceptionEntry, ExceptionGroup
from regard.policies.selectors import exceptions as selectors
from regard.policies.selectors.exceptions import WeekCount
from regard.policies.services import exceptions as services
from regard.privacy import access
from regard.privacy.roles import Capability
from regard.web.access import requires


def weeks_chart(weeks: list[WeekCount]) -> SafeString:
    """Requests per week as small columns, drawn on the server."""
    top = max((w.count for w in weeks), default=0) or 1
    width, height = 24 * len(weeks) + 10, 90
    parts = [
        f'<svg class="chart" role="img" aria-label="requests per week" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
    ]
    for index, week in enumerate(weeks):
        bar = 60 * week.count / top
        x = 5 + 24 * index
        parts.append(
            f'<rect x="{x}" y="{70 - bar:.1f}" width="18" height="{bar:.1f}" fill="#2f6f5e"><title>{escape(week.week_start.isoformat())}: {week.count}</title></rect>'
            f'<text x="{x + 9}" y="84" font-size="9" text-anchor="middle">{week.week_start:%d.%m}</text>'
            + (
                f'<text x="{x + 9}" y="{66 - bar:.1f}" font-size="9" text-anchor="middle">{week.count}</text>'
                if week.count
                else ""
            )
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # nosec B308 B703 # only numbers and escaped dates in it


@requires(Capability.EXCEPTION_LOG)
def group_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    overdue = request.GET.get("overdue") == "1"
    groups = list(selectors.exception_groups(actor=request.user, state=state, overdue_only=overdue)[:200])
    now = timezone.now()
    rows = [(group, selectors.group_is_overdue(group, now=now)) for group in groups]
    return render(
        request,
        "policies/exceptions/list.html",
        {"rows": rows, "state": state, "overdue": overdue, "states": ExceptionGroup.State.values},
    )


@requires(Capability.EXCEPTION_LOG)
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    group = selectors.exception_group_get(actor=request.user, group_id=group_id, via="web")
    members = selectors.group_members(actor=request.user, group=group, via="web")
    others = ExceptionGroup.objects.exclude(pk=group.pk).order_by("-member_count")[:50]
    return render(
        request,
        "policies/exceptions/detail.html",
        {
            "group": group,
            "members": members,
            "others": others,
            "chart": weeks_chart(selectors.group_counts_by_week(group=group)),
            "is_overdue": selectors.group_is_overdue(group, now=timezone.now()),
            "may_decide": access.has_capability(request.user, Capability.EXCEPTION_DECIDE),
        },
    )


@require_POST
@requires(Capability.EXCEPTION_DECIDE)
def group_decide(request: HttpRequest, group_id: int) -> HttpResponse:
    group = selectors.exception_group_get(actor=request.user, group_id=group_id, via="web")
    try:
        services.exception_group_decide(
            group=group,
            decision=request.POST.get("decision", ""),
            actor=request.user,
            adopted_policy_ref=request.POST.get("adopted_policy_ref", ""),
            adopted_rule=request.POST.get("adopted_rule", ""),
            declined_answers={
                "en": request.POST.get("answer_en", ""),
                "de": request.POST.get("answer_de", ""),
            },
        )
        messages.success(request, "Decided. Agents now see the outcome when the same request comes again.")
    except RegardError as error:
        messages.error(request, error.message)
    return redirect("policies:exception_group", group_id=group_id)


@require_POST
@requires(Capability.EXCEPTION_LOG)
def exception_move(request: HttpRequest, exception_id: int) -> HttpResponse:
    entry = ExceptionEntry.objects.filter(pk=exception_id).first()
    if entry is None:
        raise NotFound(f"No exception with id {exception_id}.", field="id")
    raw = request.POST.get("group_id", "")
    target = None
    if raw:
        target = ExceptionGroup.objects.filter(pk=whole_number(raw, field="group_id")).first()
        if target is None:
            raise NotFound("group_id: no such group.", field="group_id")
    try:
        moved = services.exception_move(exception=entry, to_group=target, actor=request.user)
        messages.success(request, f"Moved to “{moved.group.label[:80]}”.")
    except RegardError as error:
        messages.error(request, error.message)
    return redirect("policies:exception_group", group_id=entry.group_id)


urlpatterns = [
    path("exceptions/", group_list, name="exceptions"),
    path("exceptions/<int:group_id>/", group_detail, name="exception_group"),
    path("exceptions/<int:group_id>/decide", group_decide, name="exception_decide"),
    path("exceptions/move/<int:exception_id>", exception_move, name="exception_move"),
]
