from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer

from regard.privacy.services import token_authenticate


class ApiRequest(HttpRequest):
    """What a route receives: ``auth`` is the user behind the bearer token."""

    auth: Any


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; tokens come from ``regard token create``."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = token_authenticate(secret=token)
        if user is not None:
            request.user = user
        return user
