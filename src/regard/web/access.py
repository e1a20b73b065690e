"""Page-level access: anonymous users sign in, the wrong role gets 403 (invariant 6)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from regard.privacy import access
from regard.privacy.roles import Capability

View = Callable[..., HttpResponse]


def requires(capability: Capability) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            access.require(request.user, capability)  # PermissionDenied → 403 in the middleware
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
