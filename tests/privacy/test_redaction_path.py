"""Art. 17 against invariant 4: the timeline and consent ledger are redacted by one designed
path, and the database still refuses every other change (SQLite and PostgreSQL triggers)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from regard.consent import services as consent_services
from regard.consent.models import ConsentEvent, PreferenceChange
from regard.customers.models import REDACTION_MARK, TimelineEvent
from tests.customers.factories import make_customer, unique

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> TimelineEvent:
    customer = make_customer(preferred_name="Ada", identifiers=[("email", f"ada{unique()}@example.org")])
    return TimelineEvent.objects.get(customer=customer, kind="customer.created")


@pytest.fixture
def consent() -> ConsentEvent:
    customer = make_customer(preferred_name="Ada", identifiers=[("email", f"ada{unique()}@example.org")])
    return consent_services.consent_grant(
        actor=None,
        customer=customer,
        purpose="newsletter",
        channel="email",
        source="form",
        proof={"ip": "203.0.113.9", "user_agent": "Firefox"},
    )


def _raw(sql: str, params: list[object]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_designed_redaction_blanks_a_timeline_event_and_keeps_the_row(event: TimelineEvent) -> None:
    now = timezone.now()
    assert TimelineEvent.objects.filter(pk=event.pk).redact(now=now) == 1
    fresh = TimelineEvent.objects.get(pk=event.pk)
    assert (fresh.summary, fresh.data, fresh.redacted_at) == (REDACTION_MARK, {}, now)
    assert (fresh.kind, fresh.customer_id, fresh.occurred_at) == (
        event.kind,
        event.customer_id,
        event.occurred_at,
    )


def test_a_redacted_event_is_not_redacted_again(event: TimelineEvent) -> None:
    TimelineEvent.objects.filter(pk=event.pk).redact(now=timezone.now())
    assert TimelineEvent.objects.filter(pk=event.pk).redact(now=timezone.now()) == 0
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(
            "UPDATE customers_timelineevent SET redacted_at = %s WHERE id = %s",
            [timezone.now() + timedelta(days=1), event.pk],
        )


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        # A rewrite dressed as a redaction: the mark, but another column changed too.
        (
            "UPDATE customers_timelineevent SET summary = %s, data = '{}', redacted_at = %s, kind = 'x' WHERE id = %s",
            "mark",
        ),
        # Personal columns set to something other than the mark.
        (
            "UPDATE customers_timelineevent SET summary = %s, data = '{}', redacted_at = %s WHERE id = %s",
            "other",
        ),
        # The mark without redacted_at.
        ("UPDATE customers_timelineevent SET summary = %s, data = '{}' WHERE id = %s", "no_time"),
        # redacted_at alone.
        ("UPDATE customers_timelineevent SET redacted_at = %s WHERE id = %s", "time_only"),
    ],
)
def test_any_other_timeline_update_is_still_refused_by_the_database(
    event: TimelineEvent, sql: str, params: str
) -> None:
    now = timezone.now()
    values: list[object] = {
        "mark": [REDACTION_MARK, now, event.pk],
        "other": ["rewritten history", now, event.pk],
        "no_time": [REDACTION_MARK, event.pk],
        "time_only": [now, event.pk],
    }[params]
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(sql, values)
    fresh = TimelineEvent.objects.get(pk=event.pk)
    assert (fresh.summary, fresh.kind, fresh.redacted_at) == (event.summary, event.kind, None)


def test_the_orm_offers_no_other_way_to_change_the_timeline(event: TimelineEvent) -> None:
    with pytest.raises(TypeError, match="append-only"):
        TimelineEvent.objects.filter(pk=event.pk).update(
            summary=REDACTION_MARK, data={}, redacted_at=timezone.now()
        )
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM customers_timelineevent WHERE id = %s", [event.pk])


def test_the_designed_redaction_blanks_consent_proof_and_keeps_the_fact(consent: ConsentEvent) -> None:
    now = timezone.now()
    assert ConsentEvent.objects.filter(pk=consent.pk).redact(now=now) == 1
    fresh = ConsentEvent.objects.get(pk=consent.pk)
    assert (fresh.proof, fresh.redacted_at) == ({}, now)
    assert (fresh.purpose, fresh.action, fresh.occurred_at) == (
        consent.purpose,
        consent.action,
        consent.occurred_at,
    )


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        (
            "UPDATE consent_consentevent SET proof = '{}', redacted_at = %s, action = 'withdrawn' WHERE id = %s",
            "both",
        ),
        (
            'UPDATE consent_consentevent SET proof = \'{"ip": "0.0.0.0"}\', redacted_at = %s WHERE id = %s',
            "both",
        ),
        ("UPDATE consent_consentevent SET proof = '{}' WHERE id = %s", "id"),
        ("UPDATE consent_consentevent SET action = 'withdrawn' WHERE id = %s", "id"),
    ],
)
def test_any_other_consent_update_is_still_refused_by_the_database(
    consent: ConsentEvent, sql: str, kind: str
) -> None:
    values: list[object] = [timezone.now(), consent.pk] if kind == "both" else [consent.pk]
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(sql, values)
    fresh = ConsentEvent.objects.get(pk=consent.pk)
    assert (fresh.proof, fresh.action, fresh.redacted_at) == (consent.proof, consent.action, None)


def test_a_redacted_consent_event_cannot_be_redacted_twice_or_deleted(consent: ConsentEvent) -> None:
    ConsentEvent.objects.filter(pk=consent.pk).redact(now=timezone.now())
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE consent_consentevent SET redacted_at = %s WHERE id = %s", [timezone.now(), consent.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM consent_consentevent WHERE id = %s", [consent.pk])


def test_preference_changes_redact_by_the_same_path(consent: ConsentEvent) -> None:
    change = consent_services.preferences_set(
        actor=None,
        customer=consent.customer,
        source="preference_page",
        proof={"ip": "203.0.113.9"},
        excluded_topics=["golf"],
    )
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE consent_preferencechange SET excluded_topics = '[]' WHERE id = %s", [change.pk])
    PreferenceChange.objects.filter(pk=change.pk).redact(now=timezone.now())
    fresh = PreferenceChange.objects.get(pk=change.pk)
    assert (fresh.proof, fresh.excluded_topics) == ({}, ["golf"])
    assert fresh.redacted_at is not None


def test_a_merge_still_moves_consent_rows_to_the_survivor(consent: ConsentEvent) -> None:
    # The other allowed UPDATE (invariant 5) survives the new triggers.
    other = make_customer(preferred_name="Bert")
    ConsentEvent.objects.filter(pk=consent.pk).update(customer=other)
    assert ConsentEvent.objects.get(pk=consent.pk).customer_id == other.pk
