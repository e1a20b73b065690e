"""A body over the route's limit gets 413 before it is read, through the real ASGI application."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import override_settings

from regard.config.asgi import application
from regard.customers.models import Customer


def _call(path: str, chunks: list[bytes], *, declared: int | None) -> tuple[int, bytes, int]:
    """Run one HTTP request through the ASGI app; returns status, body and how many chunks it read."""
    headers = [(b"content-type", b"application/json"), (b"host", b"testserver")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    pending = list(chunks)
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if not pending:
            # The client stays connected until the answer; Django cancels this wait when done.
            await asyncio.Future()
        read += 1
        body = pending.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # In a thread of its own: a browser test earlier in the run may leave an event loop in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, application(scope, receive, send)).result()
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, read


@pytest.mark.django_db(transaction=True)
@override_settings(REGARD_MAX_REQUEST_BYTES=1000)
def test_a_declared_body_over_the_limit_is_refused_unread_with_a_json_message() -> None:
    status, body, read = _call("/api/v1/customers", [b"x" * 5000], declared=5000)
    assert status == 413
    assert read == 0
    assert json.loads(body)["field"] == "body"
    assert not Customer.objects.exists()


@pytest.mark.django_db(transaction=True)
@override_settings(REGARD_MAX_REQUEST_BYTES=1000)
def test_a_streamed_body_is_stopped_at_the_limit() -> None:
    chunks = [b"x" * 400 for _ in range(50)]
    status, body, read = _call("/api/v1/customers", chunks, declared=None)
    assert status == 413
    assert read == 3  # stopped at the chunk that crossed 1,000 bytes, not after 20,000
    assert b"body" in body


@pytest.mark.django_db(transaction=True)
def test_public_pages_take_a_small_body_only() -> None:
    status, body, _ = _call("/contact/", [b"x" * 70_000], declared=70_000)
    assert status == 413
    assert b"65536" in body


@pytest.mark.django_db(transaction=True)
@override_settings(REGARD_MAX_REQUEST_BYTES=1000)
def test_a_body_inside_the_limit_reaches_the_application() -> None:
    payload = json.dumps({"preferred_name": "Ada"}).encode()
    status, _, read = _call("/api/v1/customers", [payload], declared=len(payload))
    assert status == 401  # no token: Django answered, so the body got through
    assert read == 1
