from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "regard.support"
    label = "support"

    def ready(self) -> None:
        from regard.customers.ownership import REDACTED, Erasure, ErasureOf, register_customer_owned
        from regard.outreach.smtpd import InboundRoute, register_inbound_route
        from regard.support import erasure, inbound, models

        # A conversation follows the person through a merge and back on undo (invariant 5).
        # Art. 17: conversations keep their times (service figures), not their words;
        # attachments are deleted.
        message = {
            "sender_address": "",
            "body_text": REDACTED,
            "body_html": "",
            "raw": "",
            "parse_error": "",
            "reply_check": {},
        }
        register_customer_owned(
            models.Conversation,
            erase=Erasure(
                redact={"subject": REDACTED, "outcome": ""},
                custom=erasure.conversations_erase,
                children=(
                    ErasureOf(
                        models.Message,
                        "conversation",
                        redact=message,
                        children=(ErasureOf(models.Attachment, "message", delete=True),),
                    ),
                    ErasureOf(models.SatisfactionSurvey, "conversation", redact={"comment": ""}),
                    ErasureOf(models.Notification, "conversation", redact={"text": REDACTED}),
                ),
            ),
        )
        # Who hears about conversation events, in the order they run (after commit):
        # SLA due times first, so the live inbox and webhooks carry them; the satisfaction
        # question once a conversation is resolved.
        from regard.support import hooks, live, sla, surveys, webhooks

        for hook in (
            sla.on_conversation_event,
            live.conversation_event_push,
            webhooks.on_conversation_event,
            surveys.on_conversation_event,
        ):
            hooks.register_conversation_event(hook)
        # `regard smtpd` takes mail for the support addresses too.
        register_inbound_route(
            InboundRoute(
                name="support",
                accepts=inbound.is_support_address,
                receive=inbound.receive_from_listener,
                max_bytes=inbound.MAX_MESSAGE_BYTES,
            )
        )
