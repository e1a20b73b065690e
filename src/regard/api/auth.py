from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer

from regard.privacy import access
from regard.privacy.roles import Capability
from regard.privacy.services import token_authenticate


class ApiRequest(HttpRequest):
    """What a route receives: ``auth`` is the user behind the bearer token."""

    auth: Any


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; tokens come from ``regard token create``.

    Given a capability, it also checks the role, so a wrong role gets 403 before the
    request body is parsed or validated (invariant 6).
    """

    def __init__(self, capability: Capability | None = None) -> None:
        super().__init__()
        self.capability = capability

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = token_authenticate(secret=token)
        if user is None:
            return None
        request.user = user
        if self.capability is not None:
            access.require(user, self.capability)
        return user


def requires(capability: Capability) -> BearerToken:
    """A route's ``auth``: a valid token of a user whose role has ``capability``."""
    return BearerToken(capability)
