"""Background work of outreach, on the Tasks API (django-tasks, database backend).

Each task is defined beside the logic it runs; this module names them in one place.
"""

from regard.outreach.dispatcher import dispatch_due

__all__ = ["dispatch_due"]
