"""Which rows belong to a customer: a merge moves them, an erasure (Art. 17) wipes them.

Each app registers, in its ``AppConfig.ready``, every model with a foreign key to
``Customer``: with ``register_customer_owned`` the rows that follow the person when two
profiles are merged (identifiers, orders, consent events, messages, conversations), with
``register_customer_erasure`` the relations a merge leaves in place (the timeline, the merge
history, matching's working data). Either way the registration says how the rows are
erased (``Erasure``), so erasure walks this registry and an app added later cannot be
forgotten (tests/customers/test_ownership_registry.py fails for a relation without a rule).
The timeline is not moved on merge: it is append-only, and is read across the merge group
instead (see ``selectors.customer_group_ids``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models

# (survivor id, absorbed id, now): runs before the absorbed profile's rows move, e.g. to end
# a second active journey enrollment that would collide with the survivor's.
BeforeMerge = Callable[[int, int, datetime], None]
# (survivor id, absorbed id, primary keys moved back, when the merge happened): runs after undo moved them.
AfterUndo = Callable[[int, int, list[Any], datetime], None]

# What a redacted text field holds afterwards; JSON fields become {} or [].
REDACTED = "[erased]"


@dataclass(frozen=True)
class ErasureOf:
    """Rows of a model that hang off the erased rows (``via`` is its foreign key to them)."""

    model: type[models.Model]
    via: str
    redact: Mapping[str, Any] = field(default_factory=dict)
    delete: bool = False
    children: tuple[ErasureOf, ...] = ()


@dataclass(frozen=True)
class Erasure:
    """How a relation's rows are erased (Art. 17), in one or more of these ways:

    - ``redact``: field → value written over the personal fields; the row stays (a conversation
      keeps its times for the service figures, an outbox message its count against caps);
    - ``delete``: the rows go (identifiers, matching's index); ``children`` go first;
    - ``append_only``: the row's model is append-only and redacts itself by its designed
      path (``queryset.redact(now=...)``), which its database triggers allow (invariant 4);
    - ``custom``: a function of (the rows, now) for rules a field map cannot say (orders kept
      as long as the legal retention requires);
    - ``keep``: nothing personal is stored; the reason says why (and nothing else is chosen).

    ``children`` are applied first, to the rows of other models that point at these rows, then
    ``custom``, then ``redact`` or ``delete``.
    """

    redact: Mapping[str, Any] = field(default_factory=dict)
    delete: bool = False
    append_only: bool = False
    custom: Callable[[models.QuerySet[Any], datetime], None] | None = None
    keep: str = ""
    children: tuple[ErasureOf, ...] = ()

    def __post_init__(self) -> None:
        ways = [bool(self.redact), self.delete, self.append_only, self.custom is not None]
        if self.keep and (any(ways) or self.children):
            raise TypeError("an Erasure that keeps the rows does nothing else to them")
        if not self.keep and not any(ways):
            raise TypeError("an Erasure says how: redact, delete, append_only, custom, or keep with a reason")
        if self.delete and (self.redact or self.append_only):
            raise TypeError("an Erasure either deletes the rows or redacts them")


@dataclass(frozen=True)
class OwnedRelation:
    model: type[models.Model]
    field_name: str
    before_merge: BeforeMerge | None = None
    after_undo: AfterUndo | None = None
    erase: Erasure | None = None
    moves_on_merge: bool = True

    @property
    def key(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field_name}"


_registry: dict[str, OwnedRelation] = {}


def _check_relation(model: type[models.Model], field_name: str) -> None:
    field_ = model._meta.get_field(field_name)
    target = field_.related_model
    if not field_.is_relation or target is None or target._meta.label_lower != "customers.customer":
        raise TypeError(f"{model.__name__}.{field_name} is not a foreign key to Customer")


def register_customer_owned(
    model: type[models.Model],
    field_name: str = "customer",
    *,
    before_merge: BeforeMerge | None = None,
    after_undo: AfterUndo | None = None,
    erase: Erasure | None = None,
) -> None:
    _check_relation(model, field_name)
    relation = OwnedRelation(
        model=model, field_name=field_name, before_merge=before_merge, after_undo=after_undo, erase=erase
    )
    _registry[relation.key] = relation


def register_customer_erasure(
    model: type[models.Model], field_name: str = "customer", *, erase: Erasure
) -> None:
    """A relation a merge leaves where it is, and how erasure treats its rows (Art. 17)."""
    _check_relation(model, field_name)
    relation = OwnedRelation(model=model, field_name=field_name, erase=erase, moves_on_merge=False)
    _registry[relation.key] = relation


def owned_relations() -> list[OwnedRelation]:
    """The relations a merge moves."""
    return [relation for relation in _registry.values() if relation.moves_on_merge]


def owned_relation(key: str) -> OwnedRelation | None:
    relation = _registry.get(key)
    return relation if relation is not None and relation.moves_on_merge else None


def erasure_relations() -> list[OwnedRelation]:
    """Every registered relation, moved on merge or not: what erasure walks."""
    return list(_registry.values())
