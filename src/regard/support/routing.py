"""Websocket routes (served by config/asgi.py).

The agent inbox uses the signed-in session and accepts only Regard's own hosts as Origin, so
another site cannot open it with an agent's cookie. The chat widget is public: it checks the
Origin against the chat site's ``allowed_origins`` itself (consumers.origin_allowed).
"""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from regard.support.consumers import AgentInboxConsumer, ChatConsumer

websocket_urlpatterns = [
    path("ws/support/chat/", ChatConsumer.as_asgi()),
    path("ws/support/inbox/", AllowedHostsOriginValidator(AuthMiddlewareStack(AgentInboxConsumer.as_asgi()))),
]
