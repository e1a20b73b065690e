from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "regard.customers"
    label = "customers"

    def ready(self) -> None:
        from regard.customers import erasure, models, ownership
        from regard.customers.ownership import Erasure

        # Identifiers and orders belong to one person; a merge moves them (invariant 5).
        # Art. 17: identifiers go (the tombstone keeps their keyed hashes); orders stay as long
        # as the legal retention requires, pointing at the blanked profile.
        ownership.register_customer_owned(models.Identifier, erase=Erasure(delete=True))
        ownership.register_customer_owned(models.Order, erase=Erasure(custom=erasure.orders_erase))
        # What a merge leaves in place, and how erasure treats it.
        ownership.register_customer_erasure(models.TimelineEvent, erase=Erasure(append_only=True))
        merge_history = Erasure(redact={"survivor_fields_filled": {}})  # held the absorbed's values
        ownership.register_customer_erasure(models.MergeRecord, "survivor", erase=merge_history)
        ownership.register_customer_erasure(models.MergeRecord, "absorbed", erase=merge_history)
        ownership.register_customer_erasure(
            models.Customer,
            "merged_into",
            erase=Erasure(keep="the profiles merged into an erased one are erased with it"),
        )
