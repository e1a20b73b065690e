from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "regard.consent"
    label = "consent"

    def ready(self) -> None:
        from regard.consent import models
        from regard.customers.ownership import register_customer_owned

        # A merge moves the person's consent history and choices with them (invariant 5).
        register_customer_owned(models.ConsentEvent)
        register_customer_owned(models.PreferenceChange)
