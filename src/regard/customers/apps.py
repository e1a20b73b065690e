from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "regard.customers"
    label = "customers"

    def ready(self) -> None:
        from regard.customers import models, ownership

        # Identifiers and orders belong to one person; a merge moves them (invariant 5).
        ownership.register_customer_owned(models.Identifier)
        ownership.register_customer_owned(models.Order)
