"""Background tasks of the policies app; each lives beside the service it runs."""

from regard.policies.services.promises import promise_due

__all__ = ["promise_due"]
