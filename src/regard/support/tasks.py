"""Background tasks of the support desk (Django Tasks API, database backend).

Each task is defined beside the logic it runs; this module names them in one place.
"""

from regard.support.sla import sla_timer
from regard.support.webhooks import webhook_deliver

__all__ = ["sla_timer", "webhook_deliver"]
