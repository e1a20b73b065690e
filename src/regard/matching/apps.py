from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "regard.matching"
    label = "matching"
    verbose_name = "Identity resolution"

    def ready(self) -> None:
        from regard.customers import hooks
        from regard.customers.ownership import Erasure, register_customer_erasure
        from regard.matching import models, services

        # A new customer or identifier is scored at once against the stored model (C1).
        hooks.register_customer_changed(services.on_customer_changed)
        # Art. 17: pairs under review (their explanations quote names and addresses) and the
        # blocking index go with the person; a merge leaves both where they are.
        register_customer_erasure(models.MatchCandidate, "customer_low", erase=Erasure(delete=True))
        register_customer_erasure(models.MatchCandidate, "customer_high", erase=Erasure(delete=True))
        register_customer_erasure(models.MatchKey, erase=Erasure(delete=True))
