from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "regard.outreach"
    label = "outreach"

    def ready(self) -> None:
        from regard.customers.ownership import (
            REDACTED,
            Erasure,
            register_customer_erasure,
            register_customer_owned,
        )
        from regard.customers.panels import register_customer_panel
        from regard.outreach import erasure, journeys, models, panels

        # Messages and journey enrollments follow the person through a merge (invariant 5).
        # Art. 17: a message keeps its row (it still counts against caps), not its content.
        register_customer_owned(
            models.OutboxMessage,
            erase=Erasure(
                custom=erasure.outbox_erase,
                redact={
                    "subject": REDACTED,
                    "body": REDACTED,
                    "context": {},
                    "to_address": "",
                    "last_error": "",
                },
            ),
        )
        register_customer_owned(
            models.JourneyEnrollment,
            before_merge=journeys.enrollments_before_merge,
            after_undo=journeys.enrollments_after_undo,
            erase=Erasure(custom=erasure.enrollments_erase, redact={"data": {}}),
        )
        # Bounces and complaints as received: the raw mail names the person.
        register_customer_erasure(
            models.InboundFeedback,
            erase=Erasure(redact={"raw": REDACTED, "mail_from": "", "rcpt_to": REDACTED, "detail": ""}),
        )
        # Customer 360 shows every message with the gate's reasons (C3).
        register_customer_panel("messages", panels.messages_customer_panel)
