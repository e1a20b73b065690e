"""Every write of identity resolution (C1), one module per concept:

* ``training``: model versions, the one in use, which batch backend may run;
* ``runs``: batch runs, queued as a task, scoring every blocked pair;
* ``blocking_index``: the ``MatchKey`` rows a batch run brings in line with the profiles;
* ``incremental``: one new or changed customer scored against its blocks at once;
* ``candidates``: storing the likely pairs with their explanations;
* ``review``: the thresholds, a person's decision, automatic merges, undo.

Callers import from here; the names are the same as when this was one module. A test
that changes a limit changes it where it is defined (``incremental.INCREMENTAL_CANDIDATE_LIMIT``).
"""

from regard.matching.models import MatchRun  # some callers reach the run model through here
from regard.matching.services.actors import Actor
from regard.matching.services.blocking_index import BULK_KEY_ROWS
from regard.matching.services.candidates import Evidence
from regard.matching.services.incremental import (
    INCREMENTAL_CANDIDATE_LIMIT,
    _customers_sharing_keys,
    match_candidates_for,
    on_customer_changed,
)
from regard.matching.services.review import (
    candidate_accept,
    candidate_merge_undo,
    candidate_reject,
    matching_settings,
)
from regard.matching.services.runs import (
    Progress,
    _score_locally,
    match_run_execute,
    match_run_request,
    match_run_task,
)
from regard.matching.services.training import DEFAULT_SEED, SUPPORTED_BACKENDS, active_model, match_train

__all__ = [
    "BULK_KEY_ROWS",
    "DEFAULT_SEED",
    "INCREMENTAL_CANDIDATE_LIMIT",
    "SUPPORTED_BACKENDS",
    "Actor",
    "Evidence",
    "MatchRun",
    "Progress",
    "_customers_sharing_keys",
    "_score_locally",
    "active_model",
    "candidate_accept",
    "candidate_merge_undo",
    "candidate_reject",
    "match_candidates_for",
    "match_run_execute",
    "match_run_request",
    "match_run_task",
    "match_train",
    "matching_settings",
    "on_customer_changed",
]
