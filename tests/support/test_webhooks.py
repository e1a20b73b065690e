"""Signed webhooks against a real local HTTP server: signature, retries with backoff, give-up (C4)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from regard.errors import InvalidInput
from regard.privacy.roles import Role
from regard.support import services, webhooks
from regard.support.models import WebhookDelivery, WebhookEndpoint
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "s3cret-for-the-receiver-0123456789"


@pytest.fixture(autouse=True)
def _local_receiver_allowed(settings: Any) -> None:
    settings.REGARD_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver below listens on loopback


@dataclass
class Receiver:
    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # status codes to give, then 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((dict(self.headers.items()), body))
            code = state.answers.pop(0) if state.answers else 200
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/regard"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _scheduled() -> list[tuple[int, Any]]:
    rows = DBTaskResult.objects.filter(task_path="regard.support.webhooks.webhook_deliver").order_by(
        "run_after"
    )
    return [(row.args_kwargs["args"][0], row.run_after) for row in rows]


def test_events_are_delivered_signed_with_a_timestamp(receiver: Receiver, make_user: Any) -> None:
    webhooks.endpoint_create(actor=None, url=receiver.url, secret=SECRET)
    agent = make_user(Role.AGENT)
    conversation = services.conversation_open(
        customer=make_customer(), channel="email", subject="Broken", via="api"
    )
    services.message_receive(conversation=conversation, body_text="The left one is silent.")
    services.note_add(actor=agent, conversation=conversation, body_text="internal only")
    services.conversation_set_status(actor=agent, conversation=conversation, status="resolved")

    deliveries = list(WebhookDelivery.objects.order_by("id"))
    assert [d.event for d in deliveries] == [
        "conversation.created",
        "message.created",
        "conversation.resolved",
    ]
    assert len(_scheduled()) == 3
    for delivery in deliveries:
        assert webhooks.deliver(delivery.pk) == "delivered"

    assert len(receiver.requests) == 3
    headers, body = receiver.requests[1]
    payload = json.loads(body)
    assert payload["event"] == "message.created"
    assert payload["message"]["body_text"] == "The left one is silent."
    assert payload["conversation"]["token"] == conversation.token
    assert headers["X-Regard-Event"] == "message.created"
    assert headers["X-Regard-Delivery"] == str(deliveries[1].pk)
    now = int(time.time())
    assert abs(int(headers["X-Regard-Timestamp"]) - now) < 60
    assert webhooks.verify(SECRET, headers["X-Regard-Signature"], body, now=now)
    assert not webhooks.verify(
        "another-secret-xxxxxxxxxxxxxxxx", headers["X-Regard-Signature"], body, now=now
    )
    assert not webhooks.verify(
        SECRET, headers["X-Regard-Signature"], body.replace(b"silent", b"loud"), now=now
    )
    assert not webhooks.verify(SECRET, headers["X-Regard-Signature"], body, now=now + 3600)  # replayed later
    assert b"internal only" not in b"".join(b for _, b in receiver.requests)


def test_a_failing_endpoint_is_retried_with_exponential_backoff_then_succeeds(receiver: Receiver) -> None:
    webhooks.endpoint_create(actor=None, url=receiver.url, events=["conversation.created"], secret=SECRET)
    receiver.answers = [500, 503]
    services.conversation_open(customer=make_customer(), channel="email", via="api")
    delivery = WebhookDelivery.objects.get()

    waits = []
    for expected in ("pending", "pending", "delivered"):
        before = timezone.now()
        assert webhooks.deliver(delivery.pk) == expected
        delivery.refresh_from_db()
        if delivery.next_attempt_at is not None:
            waits.append((delivery.next_attempt_at - before).total_seconds())
    assert (delivery.attempts, delivery.state, delivery.last_error) == (3, "delivered", "")
    assert 30 <= waits[0] < 35
    assert 60 <= waits[1] < 65  # doubled after the second failure

    runs = [when for delivery_id, when in _scheduled() if delivery_id == delivery.pk]
    assert len(runs) == 3  # the first attempt and one task per retry, each with its run_after
    assert runs[1] - runs[0] >= timedelta(seconds=30)
    assert webhooks.backoff(1).total_seconds() == 30
    assert webhooks.backoff(3).total_seconds() == 120
    # The delivery id is the same on every attempt, so the receiver can tell retries apart.
    assert {h["X-Regard-Delivery"] for h, _ in receiver.requests} == {str(delivery.pk)}


def test_an_unreachable_endpoint_fails_for_good_after_the_last_attempt(receiver: Receiver) -> None:
    endpoint = webhooks.endpoint_create(
        actor=None, url="http://127.0.0.1:9/nothing-listens", events=["conversation.created"]
    )
    services.conversation_open(customer=make_customer(), channel="email", via="api")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    states = [webhooks.deliver(delivery.pk) for _ in range(webhooks.MAX_ATTEMPTS)]
    assert states == ["pending"] * (webhooks.MAX_ATTEMPTS - 1) + ["failed"]
    delivery.refresh_from_db()
    assert delivery.attempts == webhooks.MAX_ATTEMPTS
    assert "Connection refused" in delivery.last_error or "URLError" in delivery.last_error
    assert webhooks.deliver(delivery.pk) == "failed"  # nothing more is tried
    assert delivery.attempts == WebhookDelivery.objects.get(pk=delivery.pk).attempts


def test_the_worker_task_delivers(receiver: Receiver) -> None:
    from regard.support.webhooks import webhook_deliver

    webhooks.endpoint_create(actor=None, url=receiver.url, events=["conversation.created"], secret=SECRET)
    services.conversation_open(customer=make_customer(), channel="email", via="api")
    delivery = WebhookDelivery.objects.get()
    assert webhook_deliver.call(delivery.pk) == "delivered"
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://host:notaport/hook",
    ],
)
def test_non_http_schemes_and_private_hosts_are_refused_naming_the_url(settings: Any, url: str) -> None:
    settings.REGARD_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(InvalidInput) as refused:
        webhooks.endpoint_create(actor=None, url=url)
    assert refused.value.field == "url"
    assert not WebhookEndpoint.objects.exists()


def test_a_public_address_is_accepted(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.REGARD_WEBHOOKS_ALLOW_PRIVATE = False
    monkeypatch.setattr(
        webhooks.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.215.14", 443))]
    )
    assert webhooks.endpoint_create(actor=None, url="https://hooks.example.com/regard").pk


def test_a_host_that_turns_private_after_creation_is_refused_at_delivery(
    receiver: Receiver, settings: Any, make_user: Any
) -> None:
    webhooks.endpoint_create(actor=None, url=receiver.url, secret=SECRET)  # allowed while the setting is on
    settings.REGARD_WEBHOOKS_ALLOW_PRIVATE = False
    services.conversation_open(customer=make_customer(), channel="email", subject="Broken", via="api")
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk) == WebhookDelivery.State.FAILED
    delivery.refresh_from_db()
    assert "private" in delivery.last_error
    assert receiver.requests == []


def test_a_redirect_is_not_followed(receiver: Receiver, make_user: Any) -> None:
    webhooks.endpoint_create(actor=None, url=receiver.url, secret=SECRET)
    receiver.answers = [302]
    services.conversation_open(customer=make_customer(), channel="email", subject="Broken", via="api")
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk) == WebhookDelivery.State.PENDING
    delivery.refresh_from_db()
    assert delivery.last_error == "HTTP 302"
    assert len(receiver.requests) == 1
