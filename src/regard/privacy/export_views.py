"""Export pages: the Customer 360 panel and its buttons, the staff download, the customer's link.

Thin: ``privacy.export`` checks the role, writes and audits.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from regard.customers.models import Customer
from regard.customers.panels import Panel
from regard.errors import RegardError
from regard.privacy import access
from regard.privacy import export as services
from regard.privacy.models import DataExport
from regard.privacy.roles import Capability
from regard.web.access import requires
from regard.web.ratelimit import rate_limited

PANEL_TEMPLATE = "privacy/export_panel.html"


def _panel_context(customer_id: int, exports: list[DataExport]) -> dict[str, object]:
    live = any(e.state in (DataExport.State.QUEUED, DataExport.State.RUNNING) for e in exports)
    return {"customer_id": customer_id, "exports": exports, "live": live}


def export_customer_panel(actor: User | AnonymousUser, customer: Customer, group: list[int]) -> Panel | None:
    """Customer 360: the export button and the latest exports (one query; admins only)."""
    if not access.has_capability(actor, Capability.CUSTOMER_EXPORT):
        return None
    exports = list(DataExport.objects.defer("archive").filter(customer_id=customer.pk)[:3])
    return Panel(
        key="export",
        title="Data export",
        template=PANEL_TEMPLATE,
        context=_panel_context(customer.pk, exports),
    )


def _panel_response(request: HttpRequest, customer_id: int) -> HttpResponse:
    exports = services.export_list(actor=request.user, customer_id=customer_id, limit=3)
    panel = Panel(
        key="export",
        title="Data export",
        template=PANEL_TEMPLATE,
        context=_panel_context(customer_id, exports),
    )
    return render(request, PANEL_TEMPLATE, {"panel": panel})


@require_GET
@requires(Capability.CUSTOMER_EXPORT)
def export_panel(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _panel_response(request, customer_id)


@require_POST
@requires(Capability.CUSTOMER_EXPORT)
def export_start(request: HttpRequest, customer_id: int) -> HttpResponse:
    services.export_request(actor=request.user, customer_id=customer_id, via="web")
    if request.htmx:  # type: ignore[attr-defined]
        return _panel_response(request, customer_id)
    return redirect("customers:detail", customer_id=customer_id)


@require_POST
@requires(Capability.CUSTOMER_EXPORT)
def export_send_link(request: HttpRequest, customer_id: int, export_id: int) -> HttpResponse:
    services.export_send_link(actor=request.user, customer_id=customer_id, export_id=export_id, via="web")
    if request.htmx:  # type: ignore[attr-defined]
        return _panel_response(request, customer_id)
    return redirect("customers:detail", customer_id=customer_id)


def _zip(download: services.Download) -> HttpResponse:
    response = HttpResponse(download.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@requires(Capability.CUSTOMER_EXPORT)
def export_download(request: HttpRequest, customer_id: int, export_id: int) -> HttpResponse:
    return _zip(
        services.export_download(actor=request.user, customer_id=customer_id, export_id=export_id, via="web")
    )


@require_GET
@rate_limited
def export_download_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's download: no login, a signed token that expires (invariant 6)."""
    try:
        return _zip(services.export_download_by_link(token=token))
    except RegardError as error:
        # Gone: the link expired or its archive was removed; anything else is a bad link.
        gone = error.field == "state" or error.details.get("reason") == "expired"
        status = 410 if gone else 400
        response = render(request, "privacy/export_link_invalid.html", {"error": error}, status=status)
        response["Cache-Control"] = "no-store"
        return response


def panel_url(customer_id: int) -> str:
    return reverse("privacy_export:panel", args=[customer_id])


app_name = "privacy_export"
urlpatterns = [
    path("customers/<int:customer_id>/", export_panel, name="panel"),
    path("customers/<int:customer_id>/start", export_start, name="start"),
    path("customers/<int:customer_id>/<int:export_id>/archive", export_download, name="download"),
    path("customers/<int:customer_id>/<int:export_id>/send-link", export_send_link, name="send_link"),
    path("d/<str:token>", export_download_by_link, name="download_by_link"),
]
