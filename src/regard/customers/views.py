from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from regard.customers import selectors
from regard.privacy.roles import Capability
from regard.web.access import requires


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


@requires(Capability.CUSTOMER_READ)
def customer_search(request: HtmxRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    page = selectors.customer_search(actor=request.user, query=query, limit=50, via="web") if query else None
    found = [(c, page.matched[c.pk]) for c in page.customers] if page else []
    context = {"query": query, "found": found}
    template = "customers/_results.html" if request.htmx else "customers/search.html"
    return render(request, template, context)


@requires(Capability.CUSTOMER_READ)
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    view = selectors.customer_360(actor=request.user, customer_id=customer_id, via="web")
    return render(request, "customers/detail.html", {"view": view, "customer": view.customer})


@requires(Capability.CUSTOMER_READ)
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    # The page of events below is the read, audited by timeline_page.
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id, audit_as=None, via="web")
    page = selectors.timeline_page(
        actor=request.user, customer=customer, cursor=request.GET.get("cursor"), via="web"
    )
    return render(request, "customers/_timeline.html", {"customer": customer, "page": page})
