"""Rate limits for everything the public can reach, counted in a store all processes share.

One maintained limiter (django-ratelimit) over Django's cache, which is Redis when
``REDIS_URL`` is set and a database table otherwise (settings.CACHES): a limit counted per
process would be doubled by ``regard web --workers 2``. The client address is
``REMOTE_ADDR``, which uvicorn sets from ``X-Forwarded-For`` only for the proxies named in
``REGARD_TRUSTED_PROXIES`` (``web.server.uvicorn_command``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import is_ratelimited


def too_many(message: str = "Too many requests; try again in a minute.") -> HttpResponse:
    return HttpResponse(message + "\n", status=429, content_type="text/plain; charset=utf-8")


def hit(request: HttpRequest, *, group: str, rate: str) -> bool:
    """Count one request from this client in ``group``; True when it is over ``rate``."""
    return bool(is_ratelimited(request, group=group, key="ip", rate=rate, increment=True))


def client_hit(*, address: str, group: str, rate: str) -> bool:
    """The same count for a caller that has no HTTP request (a websocket's client address)."""
    request = HttpRequest()
    request.method = "GET"
    return bool(
        is_ratelimited(
            request, group=group, key=lambda _group, _request: address or "unknown", rate=rate, increment=True
        )
    )


def rate_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Public pages (unsubscribe, preferences, contact form, survey): per client address."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if hit(request, group="public", rate=settings.REGARD_PUBLIC_RATE_LIMIT):
            return too_many()
        return view(request, *args, **kwargs)

    return wrapper
