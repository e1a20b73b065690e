from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "regard.outreach"
    label = "outreach"

    def ready(self) -> None:
        from regard.customers.ownership import register_customer_owned
        from regard.customers.panels import register_customer_panel
        from regard.outreach import journeys, models, panels

        # Messages and journey enrollments follow the person through a merge (invariant 5).
        register_customer_owned(models.OutboxMessage)
        register_customer_owned(
            models.JourneyEnrollment,
            before_merge=journeys.enrollments_before_merge,
            after_undo=journeys.enrollments_after_undo,
        )
        # Customer 360 shows every message with the gate's reasons (C3).
        register_customer_panel("messages", panels.messages_customer_panel)
