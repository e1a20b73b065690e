from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "regard.privacy"
    label = "privacy"
    verbose_name = "Privacy, roles and audit"

    def ready(self) -> None:
        from regard.customers.ownership import Erasure, register_customer_owned
        from regard.customers.panels import register_customer_panel
        from regard.privacy import erasure_views, export_views, models

        # An export follows the person through a merge, so their own exports stay theirs;
        # erasure deletes them with their archives (Art. 17).
        register_customer_owned(models.DataExport, erase=Erasure(delete=True))
        register_customer_panel("export", export_views.export_customer_panel)
        # Art. 17: the erase button on Customer 360, for admins.
        register_customer_panel("erase", erasure_views.erase_customer_panel)
