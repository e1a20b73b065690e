from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """Remedy policies, promises and the exceptions registry (C5)."""

    name = "regard.policies"
    label = "policies"

    def ready(self) -> None:
        from regard.customers.ownership import REDACTED, Erasure, register_customer_owned
        from regard.customers.panels import register_customer_panel
        from regard.policies import (
            exception_panels,
            hooks,
            models,
            promise_panels,
            remedy_panels,
            remedy_rules,
            reply_rules,
        )
        from regard.support.hooks import register_conversation_event
        from regard.support.panels import register_sidebar_panel
        from regard.support.reply_check import register_reply_rule

        # Promises and remedies follow the person through a merge and back on undo (invariant 5).
        # Art. 17: what was promised or granted stays (it is owed or was paid), in no one's words.
        register_customer_owned(
            models.Promise, erase=Erasure(redact={"what": REDACTED, "settlement_note": ""})
        )
        register_customer_owned(models.RemedyGrant, erase=Erasure(redact={"request_text": "", "note": ""}))
        register_customer_owned(
            models.ExceptionEntry, erase=Erasure(redact={"request_text": REDACTED, "action_taken": ""})
        )
        # What policies adds to the support desk and Customer 360, in one visible list.
        register_sidebar_panel("entitlement", remedy_panels.entitlement_beside_conversation)  # S10
        register_customer_panel("entitlements", remedy_panels.entitlements_on_customer)
        register_sidebar_panel("promises", promise_panels.promises_sidebar_panel)  # S22
        register_customer_panel("promises", promise_panels.promises_customer_panel)
        register_reply_rule("promise_unrecorded", reply_rules.unrecorded_promise)
        register_reply_rule("unneeded_by_policy", remedy_rules.unneeded_by_policy)  # S8
        # S11: a request that was declined before gets its honest standard answer beside the reply.
        register_sidebar_panel("exception_answer", exception_panels.declined_answer_panel)
        # A callback promise is kept when the call is logged.
        register_conversation_event(hooks.keep_callbacks_on_call)
