"""Every write of the policies app (C5), one module per concept, re-exported here."""

from regard.policies.services.exceptions import (
    exception_group_decide,
    exception_log,
    exception_move,
    exception_regroup,
)
from regard.policies.services.promises import (
    promise_break_if_due,
    promise_due_from_working_days,
    promise_keep,
    promise_keep_by_call,
    promise_record,
    promise_withdraw,
)
from regard.policies.services.remedies import remedy_grant, remedy_policy_create, remedy_policy_revise

__all__ = [
    "exception_group_decide",
    "exception_log",
    "exception_move",
    "exception_regroup",
    "promise_break_if_due",
    "promise_due_from_working_days",
    "promise_keep",
    "promise_keep_by_call",
    "promise_record",
    "promise_withdraw",
    "remedy_grant",
    "remedy_policy_create",
    "remedy_policy_revise",
]
