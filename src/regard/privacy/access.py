"""The one place that decides whether a user may do something (invariant 6)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from regard.errors import PermissionDenied
from regard.privacy.roles import PERMISSION_MATRIX, Capability, Role

AnyUser = User | AnonymousUser


def user_roles(user: AnyUser) -> frozenset[Role]:
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset({Role.ADMIN})
    cached: frozenset[Role] | None = getattr(user, "_regard_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(role for role in Role if role.value in names)
        user._regard_roles = cached  # type: ignore[attr-defined]
    return cached


def has_capability(user: AnyUser, capability: Capability) -> bool:
    return bool(user_roles(user) & PERMISSION_MATRIX[capability])


def require(user: AnyUser, capability: Capability) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(f"Your role does not allow '{capability.value}'.", capability=capability.value)
