"""Public pages a customer meets without logging in: one-click unsubscribe and preferences (C2, S2).

Signed tokens (``consent.tokens``), no session, no cookies, no CSRF token needed
(RFC 8058: mailbox providers POST without any), rate-limited per client address.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt

from regard.api.errors import schema_parse
from regard.consent import selectors, services
from regard.consent.models import Channel, ConsentEvent
from regard.consent.schemas import PreferencesIn
from regard.consent.tokens import LinkClaim, link_read
from regard.customers.selectors import customer_for_link
from regard.errors import InvalidInput
from regard.inputs import whole_number
from regard.web.ratelimit import rate_limited

if TYPE_CHECKING:  # a type only: the customer comes from customers.selectors
    from regard.customers.models import Customer

# Shown to the customer in their language (catalogues in consent/locale); a purpose
# configured beyond these shows under its own name.
PURPOSE_LABELS = {
    "newsletter": _("newsletter"),
    "offers": _("offers"),
    "service": _("service"),
    "surveys": _("surveys"),
}
CHANNEL_LABELS = {
    "email": _("email"),
    "sms": _("text message"),
    "phone": _("phone"),
    "post": _("post"),
    "push": _("push notification"),
}


# A pause is at most a year; the page offers up to that.
MAX_PAUSE_DAYS = 365


def _labels(claim: LinkClaim) -> dict[str, Any]:
    return {
        "purpose_label": PURPOSE_LABELS.get(claim.purpose, claim.purpose),
        "channel_label": CHANNEL_LABELS.get(claim.channel, claim.channel),
    }


def _proof(request: HttpRequest, claim: LinkClaim, how: str) -> dict[str, Any]:
    return {
        "ip": request.META.get("REMOTE_ADDR", "") or "unknown",
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        "message_id": claim.message_id,
        "note": how,
    }


def _resolve(token: str) -> tuple[LinkClaim, Customer] | None:
    try:
        claim = link_read(token)
    except InvalidInput:
        return None
    customer = customer_for_link(claim.customer_id)
    return (claim, customer) if customer is not None else None


def _choices(request: HttpRequest) -> PreferencesIn:
    """The preference form through the API's PreferencesIn. The customer types the numbers on
    their own link: "²" or 10^30 is a 422 naming the field (whole_number), not a 500."""
    weekly = request.POST.get("max_messages_per_week", "").strip()
    pause_days = request.POST.get("pause_days", "").strip()
    paused_until: datetime | None = None
    if pause_days and whole_number(pause_days, field="pause_days", maximum=MAX_PAUSE_DAYS) > 0:
        day = timezone.now().date() + timedelta(days=int(pause_days))
        paused_until = datetime.combine(day, time(0), tzinfo=timezone.get_current_timezone())
    topics = [t for t in request.POST.get("excluded_topics", "").replace(";", ",").split(",") if t.strip()]
    return schema_parse(
        PreferencesIn,
        {
            "channels": request.POST.getlist("channels"),
            "excluded_topics": topics,
            "max_messages_per_week": whole_number(weekly, field="max_messages_per_week") if weekly else None,
            "paused_until": paused_until,
        },
    )


def _signed_link(
    view: Callable[[HttpRequest, str, LinkClaim, Customer], HttpResponse],
) -> Callable[[HttpRequest, str], HttpResponse]:
    """The page behind a signed link: a bad, tampered or orphaned link is a 400 page, the view
    gets the claim and the person it names now."""

    @functools.wraps(view)
    def page(request: HttpRequest, token: str) -> HttpResponse:
        resolved = _resolve(token)
        if resolved is None:
            return _bad_link(request)
        return view(request, token, *resolved)

    return page


def _bad_link(request: HttpRequest) -> HttpResponse:
    return render(request, "consent/bad_link.html", status=400)


def _withdraw(request: HttpRequest, claim: LinkClaim, customer: Customer, how: str) -> None:
    services.consent_unsubscribe(
        actor=None,
        customer=customer,
        purpose=claim.purpose,
        channel=claim.channel,
        source=ConsentEvent.Source.UNSUBSCRIBE_LINK,
        proof=_proof(request, claim, how),
        via="web",
    )


@csrf_exempt
@rate_limited
@_signed_link
def unsubscribe(request: HttpRequest, token: str, claim: LinkClaim, customer: Customer) -> HttpResponse:
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        _withdraw(request, claim, customer, "one-click (RFC 8058)" if one_click else "confirmation page")
        if one_click:
            return HttpResponse("Unsubscribed.\n", content_type="text/plain; charset=utf-8")
        with translation.override(customer.language):
            return render(
                request, "consent/unsubscribed.html", {"claim": claim, "token": token, **_labels(claim)}
            )
    if request.method not in {"GET", "HEAD"}:
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    # GET changes nothing: link scanners and previews follow links (RFC 8058 §3).
    with translation.override(customer.language):
        return render(request, "consent/unsubscribe.html", {"claim": claim, "token": token, **_labels(claim)})


@csrf_exempt
@rate_limited
@_signed_link
def preferences(request: HttpRequest, token: str, claim: LinkClaim, customer: Customer) -> HttpResponse:
    saved = False
    if request.method == "POST":
        proof = _proof(request, claim, "preference page")
        if request.POST.get("stop_everything"):
            services.consent_stop_everything(
                actor=None,
                customer=customer,
                source=ConsentEvent.Source.PREFERENCE_PAGE,
                proof=proof,
                via="web",
            )
        else:
            try:
                services.preferences_set(
                    actor=None,
                    customer=customer,
                    **_choices(request).model_dump(),
                    source="preference_page",
                    proof=proof,
                    via="web",
                )
            except InvalidInput as error:
                return HttpResponse(error.message, status=422, content_type="text/plain; charset=utf-8")
        saved = True
    current = selectors.preferences_current([customer.pk]).get(customer.pk)
    with translation.override(customer.language):
        return render(
            request,
            "consent/preferences.html",
            {
                "token": token,
                "saved": saved,
                "current": current,
                "channels": [(value, CHANNEL_LABELS.get(value, value)) for value in Channel.values],
                "greeting": customer.greeting,
                "language": customer.language,
                "company_address": settings.REGARD_POSTAL_ADDRESS,
            },
        )
