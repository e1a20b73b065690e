"""Signed outbound webhooks: conversation.created, message.created, conversation.resolved (C4).

Each event for each subscribed endpoint becomes one ``WebhookDelivery`` row and a task. The
task POSTs the JSON body with

    X-Regard-Event: message.created
    X-Regard-Delivery: <delivery id>          (the same on every retry: receivers deduplicate by it)
    X-Regard-Timestamp: <unix seconds>
    X-Regard-Signature: t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

and counts any 2xx as delivered. Anything else (an error status, a refused connection, a
timeout) is retried with exponential backoff (30 s, 1 min, 2 min, … up to ``MAX_ATTEMPTS``),
each retry a task scheduled with ``run_after``; then the delivery is marked failed with the
last error. Internal notes are never sent.

``endpoint_create`` is a service like any other (actor, one transaction, an audit row). The
delivery rows are written here, not in services.py, because no person acts when they are: a
conversation event (``support.hooks``) queues them and a task records each attempt, and the
conversation's own service already audited what happened.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from regard.customers.services import Actor
from regard.errors import InvalidInput
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record
from regard.support.models import Conversation, Message, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

EVENTS = ("conversation.created", "message.created", "conversation.resolved")
MAX_ATTEMPTS = 6
BACKOFF_SECONDS = 30
TIMEOUT_SECONDS = 10


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx (retried), never followed elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (and what the tests do): check the signature and the timestamp's age."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def _url_parts(url: str) -> SplitResult:
    parts = urlsplit(url.strip())
    try:
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        raise InvalidInput("url: the port is not a number between 0 and 65535.", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url: an http(s) URL.", field="url")
    return parts


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def url_check(url: str) -> str:
    """Refuse what a webhook must not reach: other schemes than http(s) and, unless
    ``REGARD_WEBHOOKS_ALLOW_PRIVATE`` is set, hosts that resolve to a loopback, private,
    link-local or otherwise non-public address (the server's own network). Checked when an
    endpoint is created and again before every delivery."""
    parts = _url_parts(url)
    if settings.REGARD_WEBHOOKS_ALLOW_PRIVATE:
        return url.strip()
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise InvalidInput(f"url: the host '{host}' cannot be resolved ({error}).", field="url") from None
    refused = sorted({str(info[4][0]) for info in infos if _not_public(str(info[4][0]))})
    if refused:
        raise InvalidInput(
            f"url: the host '{host}' resolves to a loopback, private or link-local address "
            f"({', '.join(refused)}); webhooks go to public addresses only "
            "(REGARD_WEBHOOKS_ALLOW_PRIVATE=true allows them).",
            field="url",
        )
    return url.strip()


@transaction.atomic
def endpoint_create(
    *,
    actor: Actor,
    url: str,
    events: list[str] | None = None,
    secret: str = "",
    via: str = "api",
    now: datetime | None = None,
) -> WebhookEndpoint:
    """Add an endpoint (an admin, through the API); audited without its secret."""
    now = now or timezone.now()
    _url_parts(url)
    chosen = list(events or EVENTS)
    for index, event in enumerate(chosen):
        if event not in EVENTS:
            raise InvalidInput(
                f"events[{index}]: '{event}' is not one of {', '.join(EVENTS)}.", field=f"events[{index}]"
            )
    if secret and len(secret) < 16:
        raise InvalidInput(
            "secret: at least 16 characters (or leave it out for a random one).", field="secret"
        )
    url_check(url)
    endpoint = WebhookEndpoint.objects.create(
        url=url.strip(), secret=secret or secrets.token_hex(32), events=chosen, active=True
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        object_type="webhook_endpoint",
        object_id=endpoint.pk,
        via=via,
        now=now,
        detail={"url": endpoint.url, "events": chosen},
    )
    return endpoint


def _conversation_payload(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "token": conversation.token,
        "customer_id": conversation.customer_id,
        "channel": conversation.channel,
        "kind": conversation.kind,
        "priority": conversation.priority,
        "status": conversation.status,
        "subject": conversation.subject,
        "created_at": conversation.created_at,
        "resolved_at": conversation.resolved_at,
    }


def _message_payload(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "direction": message.direction,
        "body_text": message.body_text,
        "created_at": message.created_at,
    }


def on_conversation_event(event: str, conversation_id: int, message_id: int | None) -> None:
    """Hook (support.hooks): one delivery per subscribed endpoint, each with its own task."""
    if event not in EVENTS:
        return
    endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if not e.events or event in e.events]
    if not endpoints:
        return
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return
    payload: dict[str, Any] = {"event": event, "conversation": _conversation_payload(conversation)}
    if event == "message.created":
        message = Message.objects.filter(pk=message_id).first() if message_id else None
        if message is None or message.direction == Message.Direction.NOTE:
            return  # internal notes stay inside
        payload["message"] = _message_payload(message)
    now = timezone.now()
    payload["occurred_at"] = now
    body = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    with transaction.atomic():
        for endpoint in endpoints:
            delivery = WebhookDelivery.objects.create(
                endpoint=endpoint, event=event, payload=body, next_attempt_at=now, created_at=now
            )
            _schedule(delivery.pk, now)


def _schedule(delivery_id: int, when: datetime) -> None:
    transaction.on_commit(lambda: webhook_deliver.using(run_after=when).enqueue(delivery_id))


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after ``attempts`` failed ones: 30 s, 60 s, 120 s, …"""
    return timedelta(seconds=BACKOFF_SECONDS * 2 ** (attempts - 1))


def deliver(delivery_id: int, *, now: datetime | None = None) -> str:
    """One attempt. Returns the delivery's state afterwards."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.state != WebhookDelivery.State.PENDING:
            return delivery.state if delivery else "missing"
        endpoint = delivery.endpoint
        body = json.dumps({"id": delivery.pk, **delivery.payload}, separators=(",", ":")).encode()
        timestamp = int((now or timezone.now()).timestamp())
        request = urllib.request.Request(
            endpoint.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Regard-Webhooks/1",
                "X-Regard-Event": delivery.event,
                "X-Regard-Delivery": str(delivery.pk),
                "X-Regard-Timestamp": str(timestamp),
                "X-Regard-Signature": sign(endpoint.secret, timestamp, body),
            },
        )
        error = ""
        try:
            url_check(endpoint.url)  # again now: what the name resolves to may have changed
        except InvalidInput as refused:
            delivery.attempts += 1
            delivery.state = WebhookDelivery.State.FAILED
            delivery.last_error = refused.message[:500]
            delivery.next_attempt_at = None
            delivery.save()
            log.warning("webhook delivery %s refused: %s", delivery.pk, delivery.last_error)
            return delivery.state
        try:
            with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                status = response.status
        except urllib.error.HTTPError as failed:
            status, error = failed.code, f"HTTP {failed.code}"
        except (urllib.error.URLError, OSError, TimeoutError) as failed:
            status, error = 0, f"{type(failed).__name__}: {failed}"
        now = timezone.now()
        delivery.attempts += 1
        if 200 <= status < 300:
            delivery.state = WebhookDelivery.State.DELIVERED
            delivery.delivered_at = now
            delivery.last_error = ""
            delivery.next_attempt_at = None
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = WebhookDelivery.State.FAILED
            delivery.last_error = (error or f"HTTP {status}")[:500]
            delivery.next_attempt_at = None
            log.warning(
                "webhook delivery %s to %s failed for good: %s",
                delivery.pk,
                endpoint.url,
                delivery.last_error,
            )
        else:
            delivery.last_error = (error or f"HTTP {status}")[:500]
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            _schedule(delivery.pk, delivery.next_attempt_at)
        delivery.save()
        return delivery.state


@task()
def webhook_deliver(delivery_id: int) -> str:
    """One attempt at a signed webhook delivery; a failure schedules the next with backoff."""
    return deliver(delivery_id)
