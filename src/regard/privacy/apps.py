from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "regard.privacy"
    label = "privacy"
    verbose_name = "Privacy, roles and audit"

    def ready(self) -> None:
        from regard.customers.ownership import register_customer_owned
        from regard.customers.panels import register_customer_panel
        from regard.privacy import export_views, models

        # An export follows the person through a merge, so their own exports stay theirs.
        register_customer_owned(models.DataExport)
        register_customer_panel("export", export_views.export_customer_panel)
