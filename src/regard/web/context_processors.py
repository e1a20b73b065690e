from __future__ import annotations

from django.contrib.messages import get_messages
from django.http import HttpRequest

from regard.privacy.access import user_roles


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    roles = sorted(r.value for r in user_roles(user)) if user is not None else []
    # Pages keep "messages" for a conversation's messages; the flash notes travel under their own name.
    return {"regard_roles": roles, "flash_messages": get_messages(request)}
