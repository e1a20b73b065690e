"""The demo's chat: a chat site for the demo shop page, so the widget can be tried from `make run`."""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from regard.customers.models import Identifier
from regard.support.identity import identity_token
from regard.support.models import ChatSite

DEMO_KEY = "demo-shop"
IDENTITY_LIFETIME_SECONDS = 3600


def demo_chat_site_ensure() -> ChatSite:
    """The demo shop's chat site (made once; its secret is random like any real site's)."""
    site, _ = ChatSite.objects.get_or_create(
        key=DEMO_KEY,
        defaults={
            "name": "Demo shop",
            "secret": secrets.token_urlsafe(32),
            "allowed_origins": [settings.REGARD_PUBLIC_URL],
        },
    )
    return site


def demo_shop(request: HttpRequest) -> HttpResponse:
    """A pretend shop with the widget, as a company's site would embed it (demo only).

    ``?signed_in=1`` plays a shop whose visitor is signed in: the page carries an identity
    token signed with the site's secret, as the shop's backend would write it (S20).
    """
    site = ChatSite.objects.filter(key=DEMO_KEY).first()
    if site is None or settings.IS_PRODUCTION:
        raise Http404("The demo shop exists only in the demo.")
    identity = shopper = ""
    if request.GET.get("signed_in") == "1":
        email = (
            Identifier.objects.filter(kind=Identifier.Kind.EMAIL, customer__merged_into__isnull=True)
            .select_related("customer")
            .order_by("pk")
            .first()
        )
        if email is not None:
            shopper = email.customer.display_name
            identity = identity_token(
                secret=site.secret,
                kind="email",
                value=email.value_normalised,
                expires=int(time.time()) + IDENTITY_LIFETIME_SECONDS,
            )
    return render(request, "support/demo/shop.html", {"site": site, "identity": identity, "shopper": shopper})
