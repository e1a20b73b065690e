"""Art. 15: an export leaves out nothing that belongs to the person.

A model added later with a foreign key to Customer is exported when its app registers it with
``customers.ownership`` (it must, for merges: tests/customers/test_ownership_registry.py); a
relation no merge moves must be read by name in ``privacy.export_selectors`` or left out with a
reason. This test walks every foreign key to Customer and fails for one that is in neither.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps

from regard.customers import ownership
from regard.customers.models import Customer
from regard.privacy.export_selectors import NOT_EXPORTED, READ_BY_NAME, exported_relation_keys, person_data
from tests.customers.factories import make_customer


def _foreign_keys_to_customer() -> set[str]:
    keys = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if field.concrete and field.is_relation and field.related_model is Customer:
                keys.add(f"{model._meta.label_lower}.{field.name}")
    return keys


def test_every_foreign_key_to_customer_is_exported_or_says_why_not() -> None:
    missing = _foreign_keys_to_customer() - exported_relation_keys() - set(NOT_EXPORTED)
    assert not missing, (
        f"{sorted(missing)}: register with customers.ownership (exported with the person), read it by"
        " name in privacy.export_selectors.READ_BY_NAME, or add it to NOT_EXPORTED with the reason"
    )


def test_the_lists_name_real_relations_and_do_not_overlap() -> None:
    real = _foreign_keys_to_customer()
    assert set(READ_BY_NAME) <= real
    assert set(NOT_EXPORTED) <= real
    assert not set(NOT_EXPORTED) & exported_relation_keys()


@pytest.mark.django_db
def test_a_model_registered_later_is_exported_without_a_change_to_the_export(monkeypatch: Any) -> None:
    """The registry, not a list in the export, decides: register a relation and its rows appear."""
    from regard.matching.models import MatchKey

    customer = make_customer()
    MatchKey.objects.create(key_hash=424242, customer=customer)
    monkeypatch.setitem(
        ownership._registry, "matching.matchkey.customer", ownership.OwnedRelation(MatchKey, "customer")
    )
    data = person_data(customer=customer)
    assert [row["key_hash"] for row in data.parts["matching.matchkey"]] == [424242]
