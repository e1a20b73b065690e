from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """The customer mirror, the service dashboard and the recovery worklist (C6)."""

    name = "regard.insights"
    label = "insights"

    def ready(self) -> None:
        from regard.customers.ownership import REDACTED, Erasure, register_customer_owned
        from regard.customers.panels import register_customer_panel
        from regard.insights import models, views
        from regard.support.panels import register_sidebar_panel

        # Where Customer 360 and the conversation sidebar link to what insights shows (C6, S23).
        register_customer_panel("mirror", views.mirror_customer_panel)
        register_sidebar_panel("mirror", views.mirror_sidebar_panel)
        # A recovery item follows the person through a merge and back on undo (invariant 5).
        register_customer_owned(models.RecoveryItem, erase=Erasure(redact={"reason": REDACTED, "note": ""}))
