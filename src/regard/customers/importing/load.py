"""What both imports share to write a batch: who owns an identifier already, one transaction
per batch, and the audit rows, written through ``regard.db.bulk`` (COPY on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from regard.customers.models import Identifier
from regard.customers.services import Actor
from regard.db import bulk
from regard.privacy.models import AuditEntry

SOURCE = "import"
VIA = "cli"

IdentifierKey = tuple[str, str]  # (kind, normalised value)

IDENTIFIER_INSERT_FIELDS = ("customer_id", "kind", "value_raw", "value_normalised", "source", "first_seen_at")
AUDIT_INSERT_FIELDS = (
    "actor_id",
    "actor_label",
    "action",
    "customer_id",
    "object_type",
    "object_id",
    "via",
    "detail",
    "occurred_at",
)


def identifier_owners(keys: set[IdentifierKey]) -> dict[IdentifierKey, int]:
    """Which customer already owns each (kind, normalised value), by indexed lookups."""
    by_kind: dict[str, list[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    owners: dict[IdentifierKey, int] = {}
    for kind, values in by_kind.items():
        for chunk in bulk.in_chunks(values):
            found = Identifier.objects.filter(
                kind=kind, value_normalised__in=bulk.one_of(chunk, db_type="text")
            ).order_by()
            for value, customer_id in found.values_list("value_normalised", "customer_id"):
                owners[(kind, value)] = customer_id
    return owners


def in_batch(batch: Callable[[], Any]) -> Any:
    """One transaction per batch; retried once if a concurrent writer took an identifier meanwhile."""
    try:
        with transaction.atomic():
            return batch()
    except IntegrityError:
        with transaction.atomic():
            return batch()


def audit_rows_insert(
    *,
    actor: Actor,
    object_type: str,
    written: Iterable[tuple[int, int, int]],
    file_name: str,
    now: datetime,
) -> None:
    """One import audit entry per (customer id, object id, line in the file) written."""
    if actor is None or not actor.is_authenticated:
        actor_id, actor_label = None, "system"
    else:
        actor_id, actor_label = actor.pk, actor.get_username()
    bulk.insert(
        AuditEntry,
        AUDIT_INSERT_FIELDS,
        [
            (
                actor_id,
                actor_label,
                AuditEntry.Action.IMPORT.value,
                customer_id,
                object_type,
                str(object_id),
                VIA,
                {"file": file_name, "line": line},
                now,
            )
            for customer_id, object_id, line in written
        ],
    )
