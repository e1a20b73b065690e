"""Erasure (Art. 17): who may, bad input that changes nothing, merge groups, retention, and the
tombstone checked on each way in."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from regard.consent import services as consent_services
from regard.consent.hashing import identifier_hash
from regard.customers import services
from regard.customers.models import Customer, Identifier, Order, TimelineEvent
from regard.errors import Conflict, PermissionDenied
from regard.outreach import events
from regard.privacy.erasure import customer_erase
from regard.privacy.models import AuditEntry, Tombstone
from regard.privacy.roles import Role
from regard.privacy.tombstone import keyed_hash, keyed_hash_of_sha256, tombstone_key
from regard.support import chat
from regard.support import services as support_services
from regard.support.identity import Identity
from regard.support.models import ChatSite
from tests.customers.factories import make_customer, make_order, unique

pytestmark = pytest.mark.django_db
REASON = "Request by email, ticket 4711"


@pytest.fixture
def ada() -> Customer:
    n = unique()
    return make_customer(
        preferred_name="Augusta",
        family_name=f"Lovelace{n}",
        identifiers=[("email", f"ada{n}@example.org"), ("phone", f"+44 20 7946 {n % 10000:04d}")],
    )


def _email(customer: Customer) -> str:
    return customer.identifiers.get(kind="email").value_normalised


def _erase(customer: Customer, make_user: Any) -> None:
    customer_erase(actor=make_user(Role.ADMIN), customer_id=customer.pk, reason=REASON)


def _untouched(customer: Customer) -> None:
    fresh = Customer.objects.get(pk=customer.pk)
    assert fresh.erased_at is None
    assert fresh.family_name == customer.family_name
    assert fresh.identifiers.count() == 2
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ERASE).exists()
    assert not Tombstone.objects.exists()


# --- the API: who may, and bad input -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "reason"),
        ({"reason": "   "}, 422, "reason"),
        ({"reason": "x" * 501}, 422, "reason"),
        ({"reason": REASON, "confirm": True}, 422, "confirm"),
    ],
)
def test_bad_input_names_the_field_and_erases_nothing(
    admin_api: Any, ada: Customer, body: dict[str, Any], status: int, field: str
) -> None:
    answer = admin_api.post(f"customers/{ada.pk}/erase", body)
    assert (answer.status_code, answer.json()["field"]) == (status, field)
    _untouched(ada)


def test_a_reason_that_names_the_person_is_refused_because_the_audit_keeps_it(
    admin_api: Any, ada: Customer
) -> None:
    for reason in (f"asked by {_email(ada)}", f"Mrs {ada.family_name} wrote"):
        answer = admin_api.post(f"customers/{ada.pk}/erase", {"reason": reason})
        assert (answer.status_code, answer.json()["field"]) == (422, "reason")
    _untouched(ada)


def test_an_unknown_customer_is_404_naming_the_id(admin_api: Any, ada: Customer) -> None:
    answer = admin_api.post(f"customers/{ada.pk + 1000}/erase", {"reason": REASON})
    assert (answer.status_code, answer.json()["field"]) == (404, "id")
    _untouched(ada)


def test_erasing_twice_is_a_conflict_and_changes_nothing_more(admin_api: Any, ada: Customer) -> None:
    assert admin_api.post(f"customers/{ada.pk}/erase", {"reason": REASON}).status_code == 200
    audit_rows, events_ = AuditEntry.objects.count(), TimelineEvent.objects.count()
    again = admin_api.post(f"customers/{ada.pk}/erase", {"reason": REASON})
    assert (again.status_code, again.json()["field"]) == (409, "id")
    assert (AuditEntry.objects.count(), TimelineEvent.objects.count()) == (audit_rows, events_)


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER, Role.MARKETER, Role.ANALYST, Role.PARTNER])
def test_only_an_admin_may_erase(api_for: Any, ada: Customer, role: Role) -> None:
    answer = api_for(role).post(f"customers/{ada.pk}/erase", {"reason": REASON})
    assert answer.status_code == 403
    _untouched(ada)


def test_the_service_checks_the_role_too(make_user: Any, ada: Customer) -> None:
    with pytest.raises(PermissionDenied):
        customer_erase(actor=make_user(Role.AGENT), customer_id=ada.pk, reason=REASON)
    _untouched(ada)


def test_the_audit_row_names_the_erasure_and_nobody(admin_api: Any, ada: Customer) -> None:
    address = _email(ada)
    admin_api.post(f"customers/{ada.pk}/erase", {"reason": REASON})
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ERASE)
    assert (entry.customer_id, entry.object_type, entry.via) == (ada.pk, "customer", "api")
    text = str(entry.detail).lower()
    assert address not in text
    assert ada.family_name.lower() not in text
    assert entry.detail["rows"]["customers.identifier.customer"] == 2


# --- merge groups and merges ----------------------------------------------------------------


def test_erasing_a_survivor_erases_every_profile_merged_into_it(make_user: Any, ada: Customer) -> None:
    other = make_customer(family_name="Byron", identifiers=[("email", f"a.byron{unique()}@example.org")])
    address = _email(other)
    services.customer_merge(survivor=ada, absorbed=other, actor=None)
    _erase(ada, make_user)
    absorbed = Customer.objects.get(pk=other.pk)
    assert absorbed.erased_at is not None
    assert absorbed.family_name == ""
    assert (
        not TimelineEvent.objects.filter(customer=other, redacted_at__isnull=True)
        .exclude(kind="customer.erased")
        .exists()
    )
    with pytest.raises(Conflict, match="asked to be erased"):
        make_customer(identifiers=[("email", address)])


def test_a_profile_merged_away_is_erased_through_its_survivor(make_user: Any, ada: Customer) -> None:
    other = make_customer(identifiers=[("email", f"other{unique()}@example.org")])
    services.customer_merge(survivor=other, absorbed=ada, actor=None)
    with pytest.raises(Conflict, match="erase that one") as refused:
        _erase(ada, make_user)
    assert refused.value.field == "id"
    assert Customer.objects.get(pk=ada.pk).erased_at is None


def test_merging_with_or_undoing_a_merge_with_an_erased_customer_is_refused(
    make_user: Any, ada: Customer
) -> None:
    other = make_customer(identifiers=[("email", f"other{unique()}@example.org")])
    third = make_customer(identifiers=[("email", f"third{unique()}@example.org")])
    merge = services.customer_merge(survivor=third, absorbed=other, actor=None)
    _erase(third, make_user)
    erased = Customer.objects.get(pk=third.pk)
    for survivor, absorbed, field in ((erased, ada, "survivor"), (ada, erased, "absorbed_id")):
        with pytest.raises(Conflict, match="erased") as refused:
            services.customer_merge(survivor=survivor, absorbed=absorbed, actor=None)
        assert refused.value.field == field
    with pytest.raises(Conflict, match="erased") as refused:
        services.merge_undo(merge=merge, actor=None)
    assert refused.value.field == "merge"
    assert Customer.objects.get(pk=other.pk).merged_into_id == third.pk


def test_an_erased_profile_takes_no_new_data(make_user: Any, ada: Customer) -> None:
    _erase(ada, make_user)
    shell = Customer.objects.get(pk=ada.pk)
    with pytest.raises(Conflict, match="erased"):
        services.customer_update(actor=None, customer=shell, changes={"given_name": "Ada"})
    with pytest.raises(Conflict, match="erased"):
        services.identifier_add(actor=None, customer=shell, kind="email", value="new@example.org")
    with pytest.raises(Conflict, match="erased"):
        events.event_record(actor=None, customer=shell, type="web.visit")  # analytics identity


# --- retention ------------------------------------------------------------------------------


def test_orders_stay_for_the_legal_retention_and_older_ones_go(
    make_user: Any, ada: Customer, settings: Any
) -> None:
    settings.REGARD_ORDER_RETENTION_DAYS = 365
    recent = make_order(customer=ada, purchased_at=timezone.now() - timedelta(days=30))
    old = make_order(customer=ada, purchased_at=timezone.now() - timedelta(days=400))
    _erase(ada, make_user)
    assert list(Order.objects.filter(customer=ada)) == [recent]
    assert not Order.objects.filter(pk=old.pk).exists()
    # Their numbers no longer find the person: order identifiers go with the rest.
    assert not Identifier.objects.filter(customer=ada).exists()


# --- the tombstone ------------------------------------------------------------------------------


def test_the_tombstone_is_a_keyed_hash_not_a_bare_sha256(
    make_user: Any, ada: Customer, settings: Any
) -> None:
    address = _email(ada)
    _erase(ada, make_user)
    bare = hashlib.sha256(address.encode()).hexdigest()
    keyed = hmac.new(tombstone_key(), bare.encode(), hashlib.sha256).hexdigest()
    stored = set(Tombstone.objects.values_list("key_hash", flat=True))
    assert keyed in stored
    assert bare not in stored
    assert keyed_hash(address) == keyed
    settings.REGARD_TOMBSTONE_KEY = "another key entirely, from the environment"
    assert keyed_hash(address) != keyed


def test_the_api_refuses_to_re_add_an_erased_identifier_without_naming_anyone(
    admin_api: Any, make_user: Any, ada: Customer
) -> None:
    address, other = _email(ada), make_customer()
    _erase(ada, make_user)
    created = admin_api.post(
        "customers", {"preferred_name": "A", "identifiers": [{"kind": "email", "value": address.upper()}]}
    )
    assert (created.status_code, created.json()["field"], created.json()["reason"]) == (
        409,
        "identifiers",
        "erased",
    )
    added = admin_api.post(f"customers/{other.pk}/identifiers", {"kind": "email", "value": address})
    assert (added.status_code, added.json()["field"]) == (409, "value")
    for answer in (created, added):
        assert "record a new consent with proof" in answer.json()["detail"]
        assert address not in answer.json()["detail"]
    assert not Identifier.objects.filter(value_normalised=address).exists()


def test_the_web_form_and_chat_still_reach_support_for_an_erased_address(
    make_user: Any, ada: Customer
) -> None:
    address = _email(ada)
    _erase(ada, make_user)
    conversation = support_services.form_submit(email=address, body_text="Is my data gone?")
    assert conversation.customer.erased_at is None
    assert conversation.customer_id != ada.pk
    site = ChatSite.objects.create(name="Shop", key=f"k{unique()}", secret="s", allowed_origins=[])
    other_address = f"other{unique()}@example.org"
    other = make_customer(identifiers=[("email", other_address)])
    _erase(other, make_user)
    visitor = chat.Visitor(
        site=site, visitor_id=chat.visitor_id_new(), identity=Identity("email", other_address, 0)
    )
    customer = chat.visitor_customer(visitor)
    assert customer.erased_at is None
    assert customer.pk != other.pk


def test_a_partner_check_answers_yes_for_an_erased_address(
    api_for: Any, make_user: Any, ada: Customer
) -> None:
    address = _email(ada)
    bare = hashlib.sha256(address.encode()).hexdigest()
    stranger = hashlib.sha256(b"nobody@example.org").hexdigest()
    partner = api_for(Role.PARTNER)
    assert partner.post("suppression/check", {"hashes": [bare, stranger]}).json()["suppressed"] == []
    _erase(ada, make_user)
    assert partner.post("suppression/check", {"hashes": [bare, stranger]}).json()["suppressed"] == [bare]


def test_consent_with_fresh_proof_after_erasure_lifts_the_marketing_stop(
    make_user: Any, ada: Customer
) -> None:
    from regard.outreach.selectors import recipients_load

    address = _email(ada)
    _erase(ada, make_user)
    returning = support_services.customer_for_contact(email=address, via="email")
    consent_services.consent_grant(
        actor=None, customer=returning, purpose="newsletter", channel="email", source="api"
    )
    state = recipients_load([returning.pk], now=timezone.now())[returning.pk].state
    assert state.erased_at is not None
    assert state.consented_since_erasure == frozenset()
    consent_services.consent_grant(
        actor=None,
        customer=returning,
        purpose="newsletter",
        channel="email",
        source="form",
        proof={"form_text_version": "2026-11", "ip": "203.0.113.8"},
    )
    state = recipients_load([returning.pk], now=timezone.now())[returning.pk].state
    assert state.consented_since_erasure == frozenset({("newsletter", "email")})


# --- the CSV import (`regard import`) ---------------------------------------------------------


def test_regard_import_refuses_an_erased_person_and_imports_the_rest(
    make_user: Any, ada: Customer, tmp_path: Any
) -> None:
    from tests.customers.test_import import error_rows, run_import, write

    address = _email(ada)
    _erase(ada, make_user)
    path = write(tmp_path, f"email,given_name\n{address.upper()},Augusta\nnew{unique()}@example.org,Grace\n")
    code, summary = run_import("customers", path)
    assert code != 0
    assert summary.startswith("customers: 1 imported, 0 already present, 1 rejected")
    [error] = error_rows(tmp_path / "data.errors.csv")
    assert (error["line"], error["field"], error["value"]) == ("2", "email", "")
    assert error["message"].startswith("This person asked to be erased")
    assert not Identifier.objects.filter(value_normalised=address).exists()


def test_orders_are_not_imported_onto_an_erased_profile(make_user: Any, ada: Customer, tmp_path: Any) -> None:
    from tests.customers.test_import import ORDERS_HEADER, error_rows, run_import, write

    _erase(ada, make_user)
    path = write(
        tmp_path,
        ORDERS_HEADER.format(column="customer_id")
        + f"Z-9,{ada.pk},2025-03-01T14:30:00+01:00,EUR,EAR-100,Aria earphones,earphones,1,79.00\n",
    )
    code, _ = run_import("orders", path)
    assert code != 0
    [error] = error_rows(tmp_path / "data.errors.csv")
    assert "erased" in error["message"]
    assert not Order.objects.filter(order_number="Z-9").exists()


def test_a_reply_to_an_old_thread_after_erasure_opens_a_new_conversation(
    make_user: Any, ada: Customer, settings: Any
) -> None:
    from regard.support.inbound import support_receive

    settings.REGARD_SUPPORT_ADDRESSES = ["help@shop.test"]
    address = _email(ada)

    def mail(message_id: str, subject: str, **headers: str) -> bytes:
        lines = [f"From: Augusta <{address}>", "To: help@shop.test", f"Subject: {subject}"]
        lines += [f"Message-ID: {message_id}", *(f"{k}: {v}" for k, v in headers.items()), "", "Hello"]
        return "\r\n".join(lines).encode()

    first = support_receive(mail_from=address, rcpt_tos=["help@shop.test"], data=mail("<a1@x.org>", "Order"))
    old = first.conversation
    _erase(ada, make_user)
    for headers in ({"In-Reply-To": "<a1@x.org>"}, {}):
        again = support_receive(
            mail_from=address,
            rcpt_tos=["help@shop.test"],
            data=mail(f"<b{unique()}@x.org>", f"Re: Order [#{old.token}]", **headers),
        )
        assert again.conversation_id != old.pk
        assert again.conversation.customer.erased_at is None
    assert not old.messages.exclude(pk=first.pk).exists()


def test_erasure_ends_active_journeys_and_drops_their_planned_steps(make_user: Any) -> None:
    from regard.outreach.models import JourneyEnrollment, OutboxMessage
    from tests.outreach.helpers import subscriber

    customer, _ = subscriber(purpose="offers")
    events.event_record(
        actor=None, customer=customer, type="cart_abandoned", data={"cart_id": "c-1", "items": []}
    )
    assert OutboxMessage.objects.filter(customer=customer, state=OutboxMessage.State.PENDING).exists()
    _erase(customer, make_user)
    enrollment = JourneyEnrollment.objects.get(customer=customer)
    assert (enrollment.state, enrollment.left_reason, enrollment.data) == ("left", "erased", {})
    assert not OutboxMessage.objects.filter(customer=customer, state=OutboxMessage.State.PENDING).exists()


def test_webhook_payloads_that_copied_the_conversation_are_blanked(make_user: Any, ada: Customer) -> None:
    from regard.support.models import WebhookDelivery, WebhookEndpoint

    conversation = support_services.form_submit(email=_email(ada), body_text=f"I am {ada.family_name}")
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.org/x", secret="s", events=[])
    now = timezone.now()
    copied = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="message.created",
        payload={"conversation": {"id": conversation.pk}, "message": {"body_text": ada.family_name}},
        created_at=now,
    )
    other = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="message.created",
        payload={"conversation": {"id": conversation.pk + 99}},
        created_at=now,
    )
    _erase(ada, make_user)
    assert ada.family_name not in str(WebhookDelivery.objects.get(pk=copied.pk).payload)
    assert WebhookDelivery.objects.get(pk=other.pk).payload == {"conversation": {"id": conversation.pk + 99}}


def test_the_tombstone_and_the_partner_check_hash_an_identifier_the_same_way() -> None:
    # The tombstone computes its own SHA-256 (customers, below consent, ask it); the partner
    # check (S5) keys by consent.hashing. Were they to differ, a partner would mail the erased.
    for value in ("ada@example.org", "+4915123456789", "r-10002"):
        assert keyed_hash(value) == keyed_hash_of_sha256(identifier_hash(value))
