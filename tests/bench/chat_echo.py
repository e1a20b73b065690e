"""The chat benchmark's reference: a bare Channels relay with no database and no Regard code.

A customer socket's text goes through the same channel layer (Regard's settings, so the same
Redis layer) to every socket that connected with ``?role=agent``. Served by uvicorn exactly
as ``regard web`` serves Regard, it is the floor under a chat message reaching an agent.
"""

from __future__ import annotations

import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regard.config.settings")
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

GROUP = "bench.agents"


class RelayConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        if b"role=agent" in self.scope.get("query_string", b""):
            await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send(GROUP, {"type": "relay", "text": text_data or ""})

    async def relay(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter({"websocket": URLRouter([path("echo/", RelayConsumer.as_asgi())])})
