from __future__ import annotations

import hashlib

import pytest
from django.db import DatabaseError, connection, transaction

from regard.consent import selectors, services
from regard.consent.models import ConsentEvent, PreferenceChange, Suppression
from regard.customers import services as customer_services
from regard.customers.models import TimelineEvent
from regard.errors import InvalidInput
from regard.privacy.models import AuditEntry
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db


def _grant(customer, purpose="newsletter", channel="email", **kw):
    return services.consent_grant(
        actor=None, customer=customer, purpose=purpose, channel=channel, source="form", **kw
    )


def test_current_state_is_the_latest_event_and_history_is_kept() -> None:
    customer = make_customer()
    _grant(customer, proof={"form_text_version": "v3", "ip": "198.51.100.7", "user_agent": "UA"})
    services.consent_withdraw(
        actor=None, customer=customer, purpose="newsletter", channel="email", source="api"
    )
    _grant(customer, purpose="offers", channel="sms")
    state = selectors.consent_current([customer.pk])[customer.pk]
    assert state[("newsletter", "email")].action == "withdrawn"
    assert state[("offers", "sms")].is_granted
    assert ConsentEvent.objects.filter(customer=customer).count() == 3
    first = ConsentEvent.objects.filter(customer=customer).order_by("id").first()
    assert first is not None
    assert first.proof["form_text_version"] == "v3"
    kinds = set(TimelineEvent.objects.filter(customer=customer).values_list("kind", flat=True))
    assert {"consent.granted", "consent.withdrawn"} <= kinds
    assert AuditEntry.objects.filter(object_type="consent_event", customer_id=customer.pk).count() == 3


def test_ledger_refuses_update_and_delete_through_the_orm() -> None:
    event = _grant(make_customer())
    event.purpose = "offers"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        ConsentEvent.objects.filter(pk=event.pk).update(action="withdrawn")
    with pytest.raises(TypeError):
        ConsentEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_consentevent SET action = 'withdrawn'",
        "DELETE FROM consent_consentevent",
        "UPDATE consent_preferencechange SET max_messages_per_week = 9",
        "DELETE FROM consent_preferencechange",
    ],
)
def test_ledger_refuses_update_and_delete_in_raw_sql(statement: str) -> None:
    customer = make_customer()
    _grant(customer)
    services.preferences_set(actor=None, customer=customer, max_messages_per_week=1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert ConsentEvent.objects.get().action == "granted"
    assert PreferenceChange.objects.get().max_messages_per_week == 1


def test_merge_moves_consent_and_preferences_and_undo_moves_them_back() -> None:
    survivor, absorbed = make_customer(), make_customer()
    event = _grant(absorbed)
    services.preferences_set(actor=None, customer=absorbed, excluded_topics=["solar"])
    merge = customer_services.customer_merge(survivor=survivor, absorbed=absorbed, actor=None)
    assert ConsentEvent.objects.get(pk=event.pk).customer_id == survivor.pk
    assert selectors.preferences_current([survivor.pk])[survivor.pk].excluded_topics == ["solar"]
    customer_services.merge_undo(merge=merge, actor=None)
    assert ConsentEvent.objects.get(pk=event.pk).customer_id == absorbed.pk
    assert ConsentEvent.objects.get(pk=event.pk).action == "granted"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"purpose": "spam"}, "purpose"),
        ({"channel": "pigeon"}, "channel"),
        ({"source": "rumour"}, "source"),
        ({"proof": {"password": "x"}}, "proof.password"),
    ],
)
def test_bad_consent_input_names_the_field_and_writes_nothing(kwargs, field) -> None:
    customer = make_customer()
    args = {"purpose": "newsletter", "channel": "email", "source": "form"} | kwargs
    with pytest.raises(InvalidInput) as error:
        services.consent_grant(actor=None, customer=customer, **args)
    assert error.value.field == field
    assert not ConsentEvent.objects.exists()


def test_suppression_is_keyed_by_hash_and_idempotent() -> None:
    address = f"p{unique()}@example.org"
    customer = make_customer(identifiers=[("email", address)])
    first = services.suppression_add(actor=None, kind="email", normalised_value=address, reason="complaint")
    again = services.suppression_add(actor=None, kind="email", normalised_value=address, reason="manual")
    assert first.pk == again.pk
    assert again.reason == "complaint"
    assert first.identifier_hash == hashlib.sha256(address.encode()).hexdigest()
    assert address not in str(Suppression.objects.values_list(flat=True))
    assert TimelineEvent.objects.filter(customer=customer, kind="suppression.added").exists()
