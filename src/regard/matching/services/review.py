"""Review: the thresholds, a person's decision on a candidate, automatic merges, undo.

Decisions go through ``customers.services.customer_merge`` / ``merge_undo``, so a merge
accepted here moves everything and can be undone exactly (invariant 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from regard.customers import services as customer_services
from regard.customers.models import Customer, MergeRecord
from regard.errors import Conflict
from regard.matching.models import MatchCandidate, MatchSettings
from regard.matching.services.actors import Actor, _user
from regard.privacy.models import AuditEntry
from regard.privacy.services import audit_record


def matching_settings() -> MatchSettings:
    found = MatchSettings.objects.order_by("pk").first()
    return found if found is not None else MatchSettings.objects.create()


def _auto_merge(candidates: Sequence[MatchCandidate], *, threshold: float | None) -> int:
    if threshold is None:
        return 0
    merged = 0
    for candidate in sorted(candidates, key=lambda c: -c.probability):
        if candidate.probability < threshold:
            continue
        try:
            candidate_accept(candidate=candidate, actor=None, via="auto")
            merged += 1
        except Conflict:
            continue  # one side was merged in the meantime; leave it for a person
    return merged


def _undecided(candidate: MatchCandidate) -> MatchCandidate:
    """The candidate, locked, if nobody decided it yet (a second decision is a 409)."""
    locked = MatchCandidate.objects.select_for_update().get(pk=candidate.pk)
    if locked.status != MatchCandidate.Status.PROPOSED:
        raise Conflict(
            f"Match candidate {locked.pk} was already {locked.status}.", field="status", status=locked.status
        )
    return locked


def _decided(
    candidate: MatchCandidate, *, status: str, actor: Actor, now: datetime, **fields: object
) -> None:
    candidate.status = status
    candidate.decided_by = _user(actor)
    candidate.decided_at = now
    for name, value in fields.items():
        setattr(candidate, name, value)
    candidate.save(update_fields=["status", "decided_by", "decided_at", *fields])


@transaction.atomic
def candidate_accept(
    *, candidate: MatchCandidate, actor: Actor, via: str = "api", now: datetime | None = None
) -> MergeRecord:
    """Same person: merge the newer profile into the older one (undoable, invariant 5)."""
    now = now or timezone.now()
    candidate = _undecided(candidate)
    survivor = Customer.objects.get(pk=candidate.customer_low_id)
    absorbed = Customer.objects.get(pk=candidate.customer_high_id)
    # customer_merge refuses (409) when either side was already merged away; nothing is written then.
    merge = customer_services.customer_merge(
        survivor=survivor, absorbed=absorbed, actor=actor, via=via, now=now
    )
    _decided(candidate, status=MatchCandidate.Status.ACCEPTED, actor=actor, now=now, merge=merge)
    return merge


@transaction.atomic
def candidate_reject(
    *, candidate: MatchCandidate, actor: Actor, via: str = "api", now: datetime | None = None
) -> MatchCandidate:
    """Not the same person: remembered, so the pair is never proposed again."""
    now = now or timezone.now()
    candidate = _undecided(candidate)
    _decided(candidate, status=MatchCandidate.Status.REJECTED, actor=actor, now=now)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="match_candidate",
        object_id=candidate.pk,
        customer_id=candidate.customer_low_id,
        via=via,
        now=now,
        detail={"status": "rejected", "other": candidate.customer_high_id},
    )
    return candidate


@transaction.atomic
def candidate_merge_undo(
    *, candidate: MatchCandidate, actor: Actor, via: str = "web", now: datetime | None = None
) -> MatchCandidate:
    """Undo an accepted candidate's merge; the pair is then remembered as not the same person."""
    now = now or timezone.now()
    candidate = MatchCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.status != MatchCandidate.Status.ACCEPTED or candidate.merge is None:
        raise Conflict(f"Match candidate {candidate.pk} has no merge to undo.", field="status")
    customer_services.merge_undo(merge=candidate.merge, actor=actor, via=via, now=now)
    _decided(candidate, status=MatchCandidate.Status.REJECTED, actor=actor, now=now)
    return candidate
