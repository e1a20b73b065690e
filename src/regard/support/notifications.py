"""In-app notifications for agents (SLA warnings and breaches): reads and the one write, marking read."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from regard.errors import InvalidInput
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.support.models import Notification

PAGE = 100


def notification_list(*, actor: AnyUser, unread_only: bool = False) -> QuerySet[Notification]:
    """A user's own notifications, newest first (texts name a conversation token, not personal data)."""
    access.require(actor, Capability.CONVERSATION_READ)
    rows = Notification.objects.filter(user_id=actor.pk or 0).select_related("conversation")
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-created_at", "-id")[:PAGE]


def notifications_mark_read(
    *, actor: AnyUser, ids: list[int] | None = None, now: datetime | None = None
) -> int:
    """Mark the actor's own notifications read (all of them when ``ids`` is None)."""
    access.require(actor, Capability.CONVERSATION_READ)
    now = now or timezone.now()
    rows = Notification.objects.filter(user_id=actor.pk or 0, read_at__isnull=True)
    if ids is not None:
        if not all(isinstance(i, int) and i > 0 for i in ids):
            raise InvalidInput("ids: a list of notification ids.", field="ids")
        rows = rows.filter(pk__in=ids)
    return rows.update(read_at=now)
