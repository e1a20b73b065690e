"""Request bodies are capped per route before Django reads them (HTTP 413, not a 500).

Django's ASGI handler reads the whole body into a temporary file before any middleware
runs, so a 50 MB post used to be read in full and then fail. This ASGI wrapper answers
413 from the ``Content-Length`` header without reading a byte, and counts a streamed
(chunked) body as it arrives, stopping at the limit.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Django's handler and Channels' router each type the triple their own way.
ASGIApp = Callable[..., Awaitable[None]]

# Pages anyone can reach with a link (unsubscribe, preferences, contact form, survey) take
# a few form fields; nothing there needs more than this.
PUBLIC_PREFIXES = ("/u/", "/p/", "/contact/", "/s/")
PUBLIC_MAX_BYTES = 64 * 1024


def body_limit_for(path: str) -> int:
    if path.startswith(PUBLIC_PREFIXES):
        return PUBLIC_MAX_BYTES
    return int(settings.REGARD_MAX_REQUEST_BYTES)


class _BodyTooLarge(Exception):
    pass


def _too_large_response(path: str, limit: int) -> tuple[bytes, bytes]:
    message = f"body: the request body is larger than {limit} bytes, the limit for this address."
    if path.startswith("/api/"):
        return json.dumps({"detail": message, "field": "body"}).encode(), b"application/json"
    return message.encode(), b"text/plain; charset=utf-8"


async def _send_413(send: Send, path: str, limit: int) -> None:
    body, content_type = _too_large_response(path, limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestBodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = body_limit_for(path)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_413(send, path, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _BodyTooLarge:
            if not started:
                await _send_413(send, path, limit)
