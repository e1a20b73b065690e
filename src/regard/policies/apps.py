from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """Remedy policies, promises and the exceptions registry (C5)."""

    name = "regard.policies"
    label = "policies"

    def ready(self) -> None:
        from regard.customers.ownership import register_customer_owned
        from regard.customers.panels import register_customer_panel
        from regard.policies import hooks, models, panels, reply_rules
        from regard.support.hooks import register_conversation_event
        from regard.support.panels import register_reply_rule, register_sidebar_panel

        # Promises follow the person through a merge and back on undo (invariant 5).
        register_customer_owned(models.Promise)
        # What policies adds to the support desk and Customer 360, in one visible list.
        register_sidebar_panel("promises", panels.promises_sidebar_panel)
        register_customer_panel("promises", panels.promises_customer_panel)
        register_reply_rule("promise_unrecorded", reply_rules.unrecorded_promise)
        register_conversation_event(hooks.keep_callbacks_on_call)
