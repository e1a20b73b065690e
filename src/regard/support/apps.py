from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "regard.support"
    label = "support"

    def ready(self) -> None:
        from regard.customers.ownership import register_customer_owned
        from regard.support import models

        # A conversation follows the person through a merge and back on undo (invariant 5).
        register_customer_owned(models.Conversation)
