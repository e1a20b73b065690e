"""Reading promises (C5). The mirror and the recovery worklist (C6) read through these."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from regard.policies.models import Promise


def promises_for_customers(
    *, customer_ids: list[int], since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Promise]:
    """Promises made to any of ``customer_ids`` (a merge group) in [since, until), oldest first.

    No access check: callers are selectors that have checked the actor already.
    """
    promises = Promise.objects.filter(customer_id__in=customer_ids)
    if since is not None:
        promises = promises.filter(created_at__gte=since)
    if until is not None:
        promises = promises.filter(created_at__lt=until)
    return promises.select_related("owner", "conversation").order_by("created_at", "id")
