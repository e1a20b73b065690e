from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "regard.matching"
    label = "matching"
    verbose_name = "Identity resolution"

    def ready(self) -> None:
        from regard.customers import hooks
        from regard.matching import services

        # A new customer or identifier is scored at once against the stored model (C1).
        hooks.register_customer_changed(services.on_customer_changed)
