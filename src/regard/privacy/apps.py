from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "regard.privacy"
    label = "privacy"
    verbose_name = "Privacy, roles and audit"

    def ready(self) -> None:
        from regard.customers.panels import register_customer_panel
        from regard.privacy import erasure_views

        # Art. 17: the erase button on Customer 360, for admins.
        register_customer_panel("erase", erasure_views.erase_customer_panel)
