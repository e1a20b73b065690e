from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from regard.privacy.access import has_capability
from regard.privacy.roles import Capability


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy", whatever its type
        return JsonResponse({"status": "degraded", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


# Each role lands where it can work: marketers and analysts never read profiles,
# so a customer search would only greet them with a 403.
_LANDING_PAGES: tuple[tuple[Capability, str], ...] = (
    (Capability.CUSTOMER_READ, "customers:search"),
    (Capability.CAMPAIGN_MANAGE, "outreach:campaigns"),
)


def home(request: HttpRequest) -> HttpResponse:
    for capability, page in _LANDING_PAGES:
        if has_capability(request.user, capability):
            return redirect(page)
    return redirect("customers:search")
