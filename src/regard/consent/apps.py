from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "regard.consent"
    label = "consent"

    def ready(self) -> None:
        from regard.consent import models, panels
        from regard.customers.ownership import Erasure, register_customer_owned
        from regard.customers.panels import register_customer_panel

        # A merge moves the person's consent history and choices with them (invariant 5).
        # Art. 17: the ledger keeps its rows (the fact of consent), the proof is redacted.
        register_customer_owned(models.ConsentEvent, erase=Erasure(append_only=True))
        register_customer_owned(models.PreferenceChange, erase=Erasure(append_only=True))
        # Customer 360 shows consent in force and its history with proof (C2).
        register_customer_panel("consent", panels.consent_customer_panel)
