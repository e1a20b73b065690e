"""What the relay answers decides the row: sent, retried, failed as a bounce, failed, or uncertain.

Each case runs with the envelope sent command by command and pipelined (RFC 2920), the
way the dispatcher talks to relays that offer PIPELINING.
"""

from __future__ import annotations

from typing import Any

import dkim
import pytest
from django.utils import timezone

from regard.consent.models import Suppression
from regard.outreach import dkim_keys
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import OutboxMessage
from regard.outreach.services import campaign_create, campaign_launch
from regard.privacy.roles import Role
from tests.outreach.conftest import Received, Recorder
from tests.outreach.helpers import enqueue_for, running_campaign, subscriber

pytestmark = pytest.mark.django_db
State = OutboxMessage.State


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelined"])
def relay(request: Any, smtp_server: tuple[Recorder, str], sender: Any) -> tuple[Recorder, Any]:
    recorder, _ = smtp_server
    recorder.pipelining = request.param
    return recorder, sender


def _dns(name: bytes, timeout: int = 5) -> bytes:
    key = dkim_keys.key_load()
    assert key is not None
    return key.public_record().encode()


def test_accepted_mail_is_sent_once_and_verifies(relay) -> None:
    recorder, sender = relay
    customer, address = subscriber()
    row = enqueue_for(running_campaign(), customer)
    assert dispatch_batch(sender=sender)["sent"] == 1
    assert sender._connection.has_extn("pipelining") is recorder.pipelining
    [received] = recorder.to(address)
    assert dkim.verify(received.data, dnsfunc=_dns)
    row.refresh_from_db()
    assert row.state == State.SENT
    assert received.message["Message-ID"] == row.message_id


def test_5xx_at_rcpt_fails_and_suppresses_the_address(relay) -> None:
    recorder, sender = relay
    customer, address = subscriber()
    recorder.rcpt_replies[address] = "550 5.1.1 no such user"
    row = enqueue_for(running_campaign(), customer)
    assert dispatch_batch(sender=sender)["failed"] == 1
    row.refresh_from_db()
    assert (row.state, row.smtp_code) == (State.FAILED, 550)
    suppression = Suppression.objects.get()
    assert suppression.reason == "hard_bounce"
    assert not recorder.received
    # The connection is still good for the next person.
    other, other_address = subscriber()
    enqueue_for(running_campaign(), other)
    assert dispatch_batch(sender=sender)["sent"] == 1
    assert len(recorder.to(other_address)) == 1


def test_5xx_after_data_naming_the_address_is_a_hard_bounce(relay) -> None:
    recorder, sender = relay
    customer, _ = subscriber()
    recorder.data_replies.append("550 5.1.1 mailbox unknown")
    row = enqueue_for(running_campaign(), customer)
    dispatch_batch(sender=sender)
    row.refresh_from_db()
    assert (row.state, row.smtp_code) == (State.FAILED, 550)
    assert "mailbox unknown" in row.last_error
    assert Suppression.objects.get().reason == "hard_bounce"


def test_5xx_refusing_the_content_fails_the_message_but_keeps_the_address(relay) -> None:
    recorder, sender = relay
    customer, _ = subscriber()
    recorder.data_replies.append("554 5.7.1 message refused as spam")
    row = enqueue_for(running_campaign(), customer)
    dispatch_batch(sender=sender)
    row.refresh_from_db()
    assert (row.state, row.smtp_code) == (State.FAILED, 554)
    assert not Suppression.objects.exists()


def test_4xx_at_rcpt_is_retried(relay) -> None:
    recorder, sender = relay
    customer, address = subscriber()
    recorder.rcpt_replies[address] = "451 4.7.1 greylisted"
    row = enqueue_for(running_campaign(), customer)
    assert dispatch_batch(sender=sender)["retried"] == 1
    row.refresh_from_db()
    assert row.state == State.PENDING
    assert row.due_at > timezone.now()


class DropsAfterData(Recorder):
    """Takes the message, then the line goes dead before the reply: the outcome is uncertain."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        server.transport.abort()
        return "250 OK"


def test_an_uncertain_send_is_counted_and_shown_on_the_campaign(relay, api_for) -> None:
    recorder, sender = relay
    marketer = api_for(Role.MARKETER)
    customer, address = subscriber()
    campaign = campaign_create(
        actor=None,
        name="Autumn letter",
        purpose="newsletter",
        subject="News",
        body="{{ greeting }}, hello.",
        audience={"customer_ids": [customer.pk]},
    )
    campaign_launch(actor=None, campaign=campaign)
    recorder.__class__ = DropsAfterData
    stats = dispatch_batch(sender=sender)
    assert stats["uncertain"] == 1
    recorder.__class__ = Recorder
    dispatch_batch(sender=sender)  # never resent
    assert len(recorder.to(address)) == 1
    shown = marketer.get(f"campaigns/{campaign.pk}").json()
    assert shown["uncertain"] == 1
    assert shown["counts_by_state"] == {"uncertain": 1}
