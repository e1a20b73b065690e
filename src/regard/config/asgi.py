"""The ASGI application: Django for HTTP, Channels for websockets (live chat, the agent inbox).

Django is set up before the websocket routes are imported, because the consumers import models.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regard.config.settings")
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from regard.support.routing import websocket_urlpatterns  # noqa: E402
from regard.web.body_limit import RequestBodyLimit  # noqa: E402

# Each websocket route checks the Origin itself: the agent inbox accepts only Regard's own hosts,
# the chat widget only the origins its chat site lists (support/routing.py).
application = ProtocolTypeRouter(
    {
        # Bodies over the route's limit get 413 before Django reads them.
        "http": RequestBodyLimit(django_application),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
