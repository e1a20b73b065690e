from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "regard.outreach"
    label = "outreach"

    def ready(self) -> None:
        from regard.customers.ownership import register_customer_owned
        from regard.outreach import models

        # Messages follow the person through a merge (invariant 5).
        register_customer_owned(models.OutboxMessage)
