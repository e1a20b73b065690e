"""The one lookup of a customer by id: the caller's capability, the field it named, the audit it asks for."""

from __future__ import annotations

from typing import Any

import pytest

from regard.customers import services
from regard.customers.selectors import customer_for_link, customer_get
from regard.errors import NotFound, PermissionDenied
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Capability, Role
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db


def test_an_unknown_id_is_not_found_naming_the_field_the_request_used(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    with pytest.raises(NotFound) as raised:
        customer_get(actor=agent, customer_id=987654, field="customer.id")
    assert (raised.value.http_status, raised.value.field) == (404, "customer.id")
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.READ).exists()


def test_the_capability_asked_for_is_checked_before_anything_is_read(make_user: Any) -> None:
    customer = make_customer()
    marketer = make_user(Role.MARKETER)
    with pytest.raises(PermissionDenied) as raised:
        customer_get(actor=marketer, customer_id=customer.pk, capability=Capability.CONSENT_WRITE)
    assert raised.value.http_status == 403
    # Refused before the lookup: an unknown id is a 403 too, so ids cannot be probed.
    with pytest.raises(PermissionDenied):
        customer_get(actor=marketer, customer_id=987654, capability=Capability.MESSAGE_SEND)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.READ).exists()


def test_a_read_is_audited_as_asked_and_a_lookup_for_a_write_is_not(make_user: Any) -> None:
    customer = make_customer()
    agent = make_user(Role.AGENT)
    customer_get(actor=agent, customer_id=customer.pk, capability=Capability.CONSENT_WRITE, audit_as=None)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.READ).exists()
    customer_get(actor=agent, customer_id=customer.pk, capability=Capability.CONSENT_READ, audit_as="consent")
    read = AuditEntry.objects.get(action=AuditEntry.Action.READ)
    assert (read.object_type, read.customer_id, read.actor_id) == ("consent", customer.pk, agent.pk)


def test_a_signed_link_to_a_merged_profile_finds_the_survivor() -> None:
    survivor, absorbed = make_customer(), make_customer()
    services.customer_merge(survivor=survivor, absorbed=absorbed, actor=None)
    assert customer_for_link(absorbed.pk) == survivor
    assert customer_for_link(survivor.pk) == survivor
    assert customer_for_link(987654) is None
