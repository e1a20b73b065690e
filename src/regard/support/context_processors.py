from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from regard.privacy import access
from regard.privacy.roles import Capability
from regard.support.models import Notification


def notifications(request: HttpRequest) -> dict[str, Any]:
    """The unread count in the navigation, for people who work conversations; counted only when shown."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not access.has_capability(user, Capability.CONVERSATION_READ):
        return {}
    return {
        "show_notifications": True,
        "unread_notifications": SimpleLazyObject(
            lambda: Notification.objects.filter(user=user, read_at__isnull=True).count()
        ),
    }
