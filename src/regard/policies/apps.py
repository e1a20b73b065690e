from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """Remedy policies, promises and the exceptions registry (C5)."""

    name = "regard.policies"
    label = "policies"

    def ready(self) -> None:
        from regard.customers.ownership import register_customer_owned
        from regard.policies import models

        # Promises follow the person through a merge and back on undo (invariant 5).
        register_customer_owned(models.Promise)
