"""Merging two profiles of one person, and undoing it (invariant 5)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from regard.customers.models import Customer, MergeRecord
from regard.customers.ownership import owned_relation, owned_relations
from regard.customers.services.profiles import PROFILE_FIELDS, Actor, ensure_not_erased, search_text_of
from regard.customers.services.timeline import timeline_append
from regard.errors import Conflict, InvalidInput
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record


@transaction.atomic
def customer_merge(
    *,
    survivor: Customer,
    absorbed: Customer,
    actor: Actor,
    via: str = "api",
    now: datetime | None = None,
) -> MergeRecord:
    """Fold ``absorbed`` into ``survivor``; everything it owned moves, nothing is lost (invariant 5)."""
    now = now or timezone.now()
    survivor = Customer.objects.select_for_update().get(pk=survivor.pk)
    absorbed = Customer.objects.select_for_update().get(pk=absorbed.pk)
    if survivor.pk == absorbed.pk:
        raise InvalidInput("absorbed_id: a customer cannot be merged into itself.", field="absorbed_id")
    for label, party in (("survivor", survivor), ("absorbed_id", absorbed)):
        # Art. 17: an erased profile is never merged with; its rows would carry the person back.
        ensure_not_erased(party, field=label, refused="it cannot be merged")
        if party.merged_into_id is not None:
            raise Conflict(
                f"Customer {party.pk} was already merged into customer {party.merged_into_id}.",
                field=label,
                customer_id=party.merged_into_id,
            )

    moved: dict[str, list[Any]] = {}
    for relation in owned_relations():
        if relation.before_merge is not None:
            relation.before_merge(survivor.pk, absorbed.pk, now)
        rows = relation.model._default_manager.filter(**{relation.field_name: absorbed})
        keys = list(rows.values_list("pk", flat=True))
        if keys:
            relation.model._default_manager.filter(pk__in=keys).update(**{relation.field_name: survivor})
            moved[relation.key] = keys

    filled: dict[str, list[Any]] = {}
    for name in PROFILE_FIELDS:
        current, offered = getattr(survivor, name), getattr(absorbed, name)
        if current in ("", None) and offered not in ("", None):
            setattr(survivor, name, offered)
            filled[name] = [_json_value(current), _json_value(offered)]
    if filled:
        survivor.search_text = search_text_of(survivor)
        survivor.updated_at = now
        survivor.save(update_fields=[*filled, "search_text", "updated_at"])
    absorbed.merged_into = survivor
    absorbed.updated_at = now
    absorbed.save(update_fields=["merged_into", "updated_at"])

    actor_user = actor if actor is not None and actor.is_authenticated else None
    merge = MergeRecord.objects.create(
        survivor=survivor,
        absorbed=absorbed,
        actor=actor_user,
        merged_at=now,
        moved=moved,
        survivor_fields_filled=filled,
    )
    for party, other, role in ((survivor, absorbed, "survivor"), (absorbed, survivor, "absorbed")):
        timeline_append(
            customer=party,
            kind="customer.merged",
            occurred_at=now,
            subject=merge,
            summary=f"Profiles {absorbed.pk} merged into {survivor.pk}",
            data={"other": other.pk, "role": role},
        )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.MERGE,
        object_type="merge",
        object_id=merge.pk,
        customer_id=survivor.pk,
        via=via,
        now=now,
        detail={"absorbed": absorbed.pk, "moved": {k: len(v) for k, v in moved.items()}},
    )
    return merge


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _field_value(name: str, value: Any) -> Any:
    if name == "date_of_birth" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


@transaction.atomic
def merge_undo(
    *, merge: MergeRecord, actor: Actor, via: str = "api", now: datetime | None = None
) -> MergeRecord:
    """Put both profiles back exactly as the merge found them (invariant 5)."""
    now = now or timezone.now()
    merge = MergeRecord.objects.select_for_update().get(pk=merge.pk)
    if merge.is_undone:
        raise Conflict(f"Merge {merge.pk} was already undone.", field="merge")
    survivor = Customer.objects.select_for_update().get(pk=merge.survivor_id)
    absorbed = Customer.objects.select_for_update().get(pk=merge.absorbed_id)
    for party in (survivor, absorbed):
        # Art. 17: undoing would bring back what the merge record held of the person.
        ensure_not_erased(party, field="merge", refused="a merge with it cannot be undone")
    if survivor.merged_into_id is not None:
        # Undo runs newest first: the later merge moved these rows on again.
        later = (
            MergeRecord.objects.filter(absorbed=survivor, undone_at__isnull=True)
            .values_list("pk", flat=True)
            .first()
        )
        raise Conflict(
            f"Customer {survivor.pk} was since merged into customer {survivor.merged_into_id}; "
            f"undo merge {later} first.",
            field="merge",
            customer_id=survivor.merged_into_id,
            merge_id=later,
        )

    for key, keys in merge.moved.items():
        relation = owned_relation(key)
        if relation is None:
            raise Conflict(
                f"Merge {merge.pk} moved rows of '{key}', which is no longer installed.",
                field="merge",
            )
        relation.model._default_manager.filter(pk__in=keys, **{relation.field_name: survivor}).update(
            **{relation.field_name: absorbed}
        )
        if relation.after_undo is not None:
            relation.after_undo(survivor.pk, absorbed.pk, keys, merge.merged_at)

    restored = []
    for name, (before, after) in merge.survivor_fields_filled.items():
        # Only what the merge itself filled in, and only if nobody changed it since.
        if _json_value(getattr(survivor, name)) == after:
            setattr(survivor, name, _field_value(name, before))
            restored.append(name)
    if restored:
        survivor.search_text = search_text_of(survivor)
        survivor.updated_at = now
        survivor.save(update_fields=[*restored, "search_text", "updated_at"])
    absorbed.merged_into = None
    absorbed.updated_at = now
    absorbed.save(update_fields=["merged_into", "updated_at"])

    merge.undone_at = now
    merge.undone_by = actor if actor is not None and actor.is_authenticated else None
    merge.save(update_fields=["undone_at", "undone_by"])
    for party in (survivor, absorbed):
        timeline_append(
            customer=party,
            kind="customer.unmerged",
            occurred_at=now,
            subject=merge,
            summary=f"Merge of {absorbed.pk} into {survivor.pk} undone",
        )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UNMERGE,
        object_type="merge",
        object_id=merge.pk,
        customer_id=survivor.pk,
        via=via,
        now=now,
        detail={"absorbed": absorbed.pk},
    )
    return merge
