"""Pages of this app: thin, composing selectors; services do the writing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from regard.customers.models import Customer
from regard.customers.panels import Panel
from regard.errors import InvalidInput, RegardError
from regard.insights.models import RecoveryItem
from regard.insights.selectors import dashboard as dashboard_selectors
from regard.insights.selectors import recovery as recovery_selectors
from regard.insights.selectors.mirror import Contacts, customer_mirror
from regard.insights.services import recovery as recovery_services
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.support.models import Conversation, Team
from regard.web.access import requires

# Colours of the chart's channels, in the order they first appear (the stylesheet's palette).
CHANNEL_COLOURS = ("#2f6fb0", "#d9822b", "#4f9a5a", "#8e5bb5", "#b54d4d")
CHART_HEIGHT = 160
BAR_WIDTH = 18
BAR_GAP = 6
CHART_LEFT = 28


def _moment(request: HttpRequest, name: str) -> datetime | None:
    """A date (the day's start, UTC) or an ISO datetime with its zone from the query string."""
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        day: date | None = parse_date(raw)
        moment = None if day is not None else parse_datetime(raw)
    except ValueError:
        day = moment = None
    if day is not None:
        return datetime.combine(day, time(0), tzinfo=UTC)
    if moment is None:
        raise InvalidInput(f"{name}: not a date (use YYYY-MM-DD).", field=name)
    return moment


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    colour: str
    title: str


@dataclass(frozen=True)
class Line:
    y: int
    label: str
    css: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    lines: list[Line]
    labels: list[tuple[int, str]]
    legend: list[tuple[str, str]]
    top: int


def contacts_chart(contacts: Contacts) -> Chart:
    """Stacked bars per week and channel against the person's own maximum and the company's cap."""
    colours = {c: CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)] for i, c in enumerate(contacts.channels)}
    top = max([contacts.busiest, contacts.cap_per_week, contacts.chosen_per_week or 0, 1])
    scale = CHART_HEIGHT / top
    bars: list[Bar] = []
    labels: list[tuple[int, str]] = []
    for index, week in enumerate(contacts.weeks):
        x = CHART_LEFT + index * (BAR_WIDTH + BAR_GAP)
        base = CHART_HEIGHT
        for channel, count in week.by_channel.items():
            height = round(count * scale)
            base -= height
            title = f"week of {week.week_start:%d %b}: {count} by {channel}"
            bars.append(Bar(x, base, height, colours[channel], title))
        if index % 2 == 0:
            labels.append((x, f"{week.week_start:%d %b}"))
    lines = [
        Line(
            round(CHART_HEIGHT - contacts.cap_per_week * scale), f"company cap {contacts.cap_per_week}", "cap"
        )
    ]
    if contacts.chosen_per_week == contacts.cap_per_week:
        lines = [Line(lines[0].y, f"their choice = cap {contacts.cap_per_week}", "choice")]
    elif contacts.chosen_per_week is not None:
        lines.append(
            Line(
                round(CHART_HEIGHT - contacts.chosen_per_week * scale),
                f"their choice {contacts.chosen_per_week}",
                "choice",
            )
        )
    width = CHART_LEFT + max(1, len(contacts.weeks)) * (BAR_WIDTH + BAR_GAP) + 130
    return Chart(width, CHART_HEIGHT, bars, lines, labels, list(colours.items()), top)


@requires(Capability.MIRROR_READ)
def mirror_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    mirror = customer_mirror(
        actor=request.user,
        customer_id=customer_id,
        since=_moment(request, "since"),
        until=_moment(request, "until"),
        via="web",
    )
    context = {"mirror": mirror, "customer": mirror.customer, "chart": contacts_chart(mirror.contacts)}
    return render(request, "insights/mirror.html", context)


# --- panels on Customer 360 and the conversation sidebar (registered in apps.py) ------------


def mirror_customer_panel(actor: AnyUser, customer: Customer, group: list[int]) -> Panel | None:
    """A link to the mirror for roles that may read it; no query."""
    if not access.has_capability(actor, Capability.MIRROR_READ):
        return None
    href = reverse("insights:mirror", args=[customer.pk])
    return Panel("mirror", "Mirror", "insights/mirror_panel.html", {"href": href})


def mirror_sidebar_panel(actor: AnyUser, conversation: Conversation, group: list[int]) -> Panel | None:
    if not access.has_capability(actor, Capability.MIRROR_READ):
        return None
    href = reverse("insights:mirror", args=[conversation.customer_id])
    return Panel("mirror", "Mirror", "insights/mirror_panel.html", {"href": href})


# --- the recovery worklist (S24) -------------------------------------------------------------


@requires(Capability.RECOVERY_WORK)
def recovery_page(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "active")
    rows = recovery_selectors.recovery_worklist(actor=request.user, state=state, via="web")
    return render(
        request,
        "insights/recovery.html",
        {
            "rows": rows,
            "state": state,
            "states": recovery_selectors.STATES,
            "actions": RecoveryItem.Action.choices,
        },
    )


@require_POST
@requires(Capability.RECOVERY_WORK)
def recovery_act(request: HttpRequest, item_id: int) -> HttpResponse:
    item = recovery_selectors.recovery_item_get(actor=request.user, item_id=item_id)
    try:
        if request.POST.get("do") == "claim":
            recovery_services.recovery_claim(actor=request.user, item=item)
            messages.success(request, f"You took up {item.customer.display_name}: {item.reason}")
        else:
            recovery_services.recovery_close(
                actor=request.user,
                item=item,
                action=request.POST.get("action", ""),
                note=request.POST.get("note", ""),
            )
            messages.success(request, f"Closed: {item.customer.display_name}, {item.reason}")
    except RegardError as error:
        messages.error(request, error.message)
    return redirect("insights:recovery")


# --- the service dashboard (aggregates only: analysts too) ----------------------------------

DASHBOARD_TABLES = ("channels", "teams", "weeks", "campaigns", "pressure", "retention")


def bar_chart(rows: list[dict[str, Any]], *, label: str, value: str, unit: str = "") -> SafeString:
    """A small horizontal bar chart as SVG, drawn on the server (no script, no CDN)."""
    shown = [r for r in rows if r.get(value) is not None]
    if not shown:
        return SafeString("")
    top = max(float(r[value]) for r in shown) or 1.0
    height = 22 * len(shown) + 8
    parts = [f'<svg class="chart" role="img" viewBox="0 0 480 {height}" width="480" height="{height}">']
    for index, row in enumerate(shown):
        y = 4 + 22 * index
        width = 250 * float(row[value]) / top
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="12">{escape(str(row[label]))[:22]}</text>'
            f'<rect x="130" y="{y}" width="{width:.1f}" height="16" fill="#2f6f5e"><title>{escape(str(row[value]))} {unit}</title></rect>'
            f'<text x="{134 + width:.1f}" y="{y + 13}" font-size="11">{escape(str(row[value]))}{unit}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # nosec B308 B703 # every text in it went through escape()


@requires(Capability.DASHBOARD_READ)
def dashboard_page(request: HttpRequest) -> HttpResponse:
    filters = dashboard_selectors.dashboard_filters(
        since=_moment(request, "since"),
        until=_moment(request, "until"),
        channel=request.GET.get("channel", ""),
        team=request.GET.get("team", ""),
    )
    data = dashboard_selectors.service_dashboard(actor=request.user, filters=filters)
    table = request.GET.get("table", "")
    if request.GET.get("format") == "csv":
        if table not in DASHBOARD_TABLES:
            raise InvalidInput(f"table: one of {', '.join(DASHBOARD_TABLES)}.", field="table")
        rows = {
            "pressure": data["pressure"]["distribution"],
            "retention": data["retention"]["cohorts"],
        }.get(table, data.get(table, []))
        response = HttpResponse(dashboard_selectors.rows_as_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="regard-{table}.csv"'
        return response
    charts = {
        "channels": bar_chart(data["channels"], label="label", value="first_response_p50", unit=" min"),
        "teams": bar_chart(data["teams"], label="label", value="first_response_p50", unit=" min"),
        "weeks": bar_chart(data["weeks"], label="label", value="conversations"),
        "pressure": bar_chart(data["pressure"]["distribution"], label="messages", value="customers"),
    }
    return render(
        request,
        "insights/dashboard.html",
        {
            "data": data,
            "charts": charts,
            "filters": filters,
            "teams": Team.objects.order_by("name"),
            "channels": Conversation.Channel.values,
            "query": request.GET.urlencode(),
        },
    )
