"""Which rows belong to a customer, so a merge can move them and an undo can move them back.

Each app registers, in its ``AppConfig.ready``, every model with a foreign key to
``Customer`` whose rows should follow the person when two profiles are merged
(identifiers, orders, and later consent events, messages, conversations).
The timeline is not registered: it is append-only, and is read across the merge
group instead (see ``selectors.customer_group_ids``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models

# (survivor id, absorbed id, now): runs before the absorbed profile's rows move, e.g. to end
# a second active journey enrollment that would collide with the survivor's.
BeforeMerge = Callable[[int, int, datetime], None]
# (survivor id, absorbed id, primary keys moved back, when the merge happened): runs after undo moved them.
AfterUndo = Callable[[int, int, list[Any], datetime], None]


@dataclass(frozen=True)
class OwnedRelation:
    model: type[models.Model]
    field_name: str
    before_merge: BeforeMerge | None = None
    after_undo: AfterUndo | None = None

    @property
    def key(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field_name}"


_registry: dict[str, OwnedRelation] = {}


def register_customer_owned(
    model: type[models.Model],
    field_name: str = "customer",
    *,
    before_merge: BeforeMerge | None = None,
    after_undo: AfterUndo | None = None,
) -> None:
    field = model._meta.get_field(field_name)
    target = field.related_model
    if not field.is_relation or target is None or target._meta.label_lower != "customers.customer":
        raise TypeError(f"{model.__name__}.{field_name} is not a foreign key to Customer")
    relation = OwnedRelation(
        model=model, field_name=field_name, before_merge=before_merge, after_undo=after_undo
    )
    _registry[relation.key] = relation


def owned_relations() -> list[OwnedRelation]:
    return list(_registry.values())


def owned_relation(key: str) -> OwnedRelation | None:
    return _registry.get(key)
