from __future__ import annotations

from django.http import HttpRequest

from regard.privacy.access import user_roles


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    roles = sorted(r.value for r in user_roles(user)) if user is not None else []
    return {"regard_roles": roles}
