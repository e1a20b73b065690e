"""Public pages a visitor reaches without a link of ours speak the browser's language."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation


def in_visitors_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Render in the language of the browser's Accept-Language (for the contact form: a
    stranger has no profile whose language we know). Pages behind a signed link use the
    customer's own language instead."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = translation.get_language_from_request(request)
        with translation.override(language):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        response.headers.setdefault("Content-Language", language)
        return response

    return wrapped
