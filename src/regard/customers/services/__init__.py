"""Every write to customers, identifiers, orders, the timeline and merges (C1).

Each function is keyword-only, runs in one transaction, writes its timeline event
and its audit entry. Views, the API, the CLI, imports and later apps call these.
One module per concept: ``profiles`` (profiles and identifiers), ``orders``,
``merge`` (merge and undo), ``timeline`` (one event, or many in one statement).
"""

from regard.customers.services.merge import customer_merge, merge_undo
from regard.customers.services.orders import (
    MAX_UNIT_PRICE,
    OrderLineInput,
    delivery_clean,
    order_clean,
    order_delivery_record,
    order_record,
)
from regard.customers.services.profiles import (
    ADDRESS_FIELDS,
    PROFILE_FIELDS,
    TEXT_LIMITS,
    Actor,
    IdentifierInput,
    clean_profile,
    customer_create,
    customer_update,
    identifier_add,
)
from regard.customers.services.timeline import TimelineEntry, timeline_append, timeline_append_many

__all__ = [
    "ADDRESS_FIELDS",
    "MAX_UNIT_PRICE",
    "PROFILE_FIELDS",
    "TEXT_LIMITS",
    "Actor",
    "IdentifierInput",
    "OrderLineInput",
    "TimelineEntry",
    "clean_profile",
    "customer_create",
    "customer_merge",
    "customer_update",
    "delivery_clean",
    "identifier_add",
    "merge_undo",
    "order_clean",
    "order_delivery_record",
    "order_record",
    "timeline_append",
    "timeline_append_many",
]
