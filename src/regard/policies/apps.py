from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """Remedy policies, promises and the exceptions registry (C5)."""

    name = "regard.policies"
    label = "policies"

    def ready(self) -> None:
        from regard.customers.ownership import register_customer_owned
        from regard.customers.panels import register_customer_panel
        from regard.policies import models, panels, remedy_rules
        from regard.support.panels import register_reply_rule, register_sidebar_panel

        # Promises and remedies follow the person through a merge and back on undo (invariant 5).
        register_customer_owned(models.Promise)
        register_customer_owned(models.RemedyGrant)
        # S10: what the customer is entitled to, beside the conversation and on Customer 360.
        register_sidebar_panel("entitlement", panels.entitlement_beside_conversation)
        register_customer_panel("entitlements", panels.entitlements_on_customer)
        # S8: the reply check points out asking for what the policy makes unnecessary.
        register_reply_rule("unneeded_by_policy", remedy_rules.unneeded_by_policy)
