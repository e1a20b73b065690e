"""Invariant 5 and Art. 17: every row that points at a customer follows them through a merge,
or says why not, and says how it is erased.

A model added later with a foreign key to Customer and no registration would be left behind
on the absorbed profile by a merge, and kept with its personal data by an erasure. These
tests walk every foreign key to Customer and fail for one that is neither registered with
``customers.ownership`` nor exempt with a reason, or that has no erasure rule.
"""

from __future__ import annotations

from django.apps import apps

from regard.customers.models import Customer
from regard.customers.ownership import erasure_relations, owned_relations

# Relations that deliberately stay where they are, each with the reason.
NOT_MOVED = {
    # The merge itself: which profile was absorbed into which.
    "customers.customer.merged_into": "the merge pointer",
    "customers.mergerecord.survivor": "the merge history names both profiles",
    "customers.mergerecord.absorbed": "the merge history names both profiles",
    # Append-only: never updated, read across the merge group instead (invariant 4).
    "customers.timelineevent.customer": "append-only; read across the merge group",
    # Matching's own working data: candidate pairs and the blocking index are recomputed.
    "matching.matchcandidate.customer_low": "a pair under review, decided by the merge",
    "matching.matchcandidate.customer_high": "a pair under review, decided by the merge",
    "matching.matchkey.customer": "the blocking index, rebuilt for the survivor",
    # Evidence as received (a bounce or complaint about a message); read across the group.
    "outreach.inboundfeedback.customer": "evidence as received; read across the merge group",
}


def _foreign_keys_to_customer() -> set[str]:
    keys = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if field.concrete and field.is_relation and field.related_model is Customer:
                keys.add(f"{model._meta.label_lower}.{field.name}")
    return keys


def test_every_foreign_key_to_customer_moves_on_merge_or_says_why_not() -> None:
    registered = {relation.key for relation in owned_relations()}
    unaccounted = _foreign_keys_to_customer() - registered - set(NOT_MOVED)
    assert not unaccounted, (
        f"{sorted(unaccounted)}: register with customers.ownership.register_customer_owned in the"
        " app's ready() (a merge must move these rows), or add them to NOT_MOVED with the reason"
    )


def test_the_exemptions_are_real_relations_and_not_also_registered() -> None:
    registered = {relation.key for relation in owned_relations()}
    assert set(NOT_MOVED) <= _foreign_keys_to_customer()
    assert not set(NOT_MOVED) & registered


def test_every_foreign_key_to_customer_says_how_it_is_erased() -> None:
    # Art. 17: erasure walks the registry; a relation missing from it keeps its personal data.
    rules = {relation.key: relation.erase for relation in erasure_relations()}
    missing = sorted(key for key in _foreign_keys_to_customer() if rules.get(key) is None)
    assert not missing, (
        f"{missing}: give an erasure rule (customers.ownership.Erasure) with register_customer_owned"
        " or, for a relation a merge leaves in place, register_customer_erasure, in the app's ready()"
    )


def test_every_erasure_rule_names_real_relations() -> None:
    assert {relation.key for relation in erasure_relations()} <= _foreign_keys_to_customer()
