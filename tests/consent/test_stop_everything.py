"""'Stop everything' is one act, and an unsubscribe knows when it has nothing left to do (S2)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from regard.consent import services
from regard.consent.models import ConsentEvent, PreferenceChange
from regard.consent.selectors import consent_current, consent_is_withdrawn
from regard.consent.tokens import link_token
from regard.customers.models import TimelineEvent
from regard.privacy.models import AuditEntry
from tests.outreach.helpers import subscriber

pytestmark = pytest.mark.django_db


def _written(customer: Any) -> tuple[int, int, int, int]:
    return (
        ConsentEvent.objects.filter(customer=customer).count(),
        PreferenceChange.objects.filter(customer=customer).count(),
        TimelineEvent.objects.filter(customer=customer).count(),
        AuditEntry.objects.filter(customer_id=customer.pk).count(),
    )


def test_stop_everything_withdraws_every_marketing_consent_and_sets_no_mail_a_week() -> None:
    customer, _ = subscriber()
    stopped = services.consent_stop_everything(
        actor=None, customer=customer, source="preference_page", proof={"note": "test"}, via="web"
    )
    assert stopped.preferences.max_messages_per_week == 0
    marketing = [
        p for p in settings.REGARD_CONSENT_PURPOSES if p not in settings.REGARD_CONSENT_FREE_PURPOSES
    ]
    in_force = consent_current([customer.pk])[customer.pk]
    assert all(not in_force[(purpose, "email")].is_granted for purpose in marketing)
    assert {e.purpose for e in stopped.withdrawn} == set(marketing)


def test_a_failure_in_the_second_step_of_stop_everything_leaves_nothing_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customer, _ = subscriber()
    before = _written(customer)

    def preferences_refused(**_: Any) -> PreferenceChange:
        raise RuntimeError("the preference row could not be written")

    # The withdrawals are written first; the preference row fails after them.
    monkeypatch.setattr(services, "preferences_set", preferences_refused)
    with pytest.raises(RuntimeError):
        services.consent_stop_everything(actor=None, customer=customer, source="preference_page", via="web")
    assert _written(customer) == before
    assert consent_current([customer.pk])[customer.pk][("newsletter", "email")].is_granted


def test_the_preference_page_stops_everything_or_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    customer, _ = subscriber()
    before = _written(customer)
    token = link_token(customer_id=customer.pk, purpose="newsletter", channel="email", message_id="<m1@x>")

    def preferences_refused(**_: Any) -> PreferenceChange:
        raise RuntimeError("the preference row could not be written")

    monkeypatch.setattr(services, "preferences_set", preferences_refused)
    client = Client(raise_request_exception=False)
    assert client.post(f"/p/{token}", {"stop_everything": "1"}).status_code == 500
    assert _written(customer) == before


def test_unsubscribing_twice_writes_one_withdrawal() -> None:
    customer, _ = subscriber()
    arguments: Any = {
        "actor": None,
        "customer": customer,
        "purpose": "newsletter",
        "channel": "email",
        "source": "unsubscribe_link",
        "via": "web",
    }
    assert not consent_is_withdrawn(customer=customer, purpose="newsletter", channel="email")
    first = services.consent_unsubscribe(**arguments)
    assert first is not None
    assert first.action == ConsentEvent.Action.WITHDRAWN
    assert consent_is_withdrawn(customer=customer, purpose="newsletter", channel="email")
    assert services.consent_unsubscribe(**arguments) is None
    assert ConsentEvent.objects.filter(customer=customer, action="withdrawn").count() == 1


def test_never_asked_is_not_withdrawn_so_an_unsubscribe_still_records_one() -> None:
    customer, _ = subscriber(purpose="offers")
    assert not consent_is_withdrawn(customer=customer, purpose="newsletter", channel="email")
    event = services.consent_unsubscribe(
        actor=None, customer=customer, purpose="newsletter", channel="email", source="unsubscribe_link"
    )
    assert event is not None
