"""The exceptions registry (C5, S11: the same out-of-policy request keeps coming and nobody decides).

A request outside policy is logged, joins the group of requests like it (``similarity``), and a
group that keeps coming back gets an owner with the manager role and a date by which to
adopt it as policy or decline it with an honest standard answer.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from regard.customers.models import Customer
from regard.customers.selectors import customer_current, customer_group_ids
from regard.customers.services import timeline_append
from regard.errors import Conflict, InvalidInput
from regard.policies.models import ExceptionEntry, ExceptionGroup
from regard.policies.services.promises import promise_due_from_working_days
from regard.policies.similarity import MAX_EXEMPLARS, group_requests, nearest_group
from regard.privacy import access
from regard.privacy.models import AuditEntry
from regard.privacy.roles import Capability, Role
from regard.privacy.services import audit_record
from regard.support.models import Conversation, Notification
from regard.support.sla import calendar_for

Actor = User | AnonymousUser | None

MAX_REQUEST = 2000
MAX_LABEL = 200
# Languages a declined group's standard answer must be written in (English is the fallback).
ANSWER_LANGUAGES = ("en", "de")


def _require(actor: Actor, capability: Capability) -> None:
    if actor is not None:  # None: the system itself (a task, the demo)
        access.require(actor, capability)


def _clean_request(text: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise InvalidInput("request_text: write the request in the customer's words.", field="request_text")
    if len(text) > MAX_REQUEST:
        raise InvalidInput(f"request_text: longer than {MAX_REQUEST} characters.", field="request_text")
    return text


def _exemplars() -> list[tuple[int, str]]:
    return list(
        ExceptionEntry.objects.filter(is_exemplar=True)
        .order_by("group_id", "logged_at", "id")
        .values_list("group_id", "request_text")
    )


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


@transaction.atomic
def exception_log(
    *,
    customer: Customer,
    request_text: str,
    action_taken: str,
    category: str = "",
    conversation: Conversation | None = None,
    actor: Actor,
    now: datetime | None = None,
) -> ExceptionEntry:
    """Log a request outside policy; it joins the nearest group of requests like it, or starts one.

    A request like one whose group was adopted is policy now: logged as covered, not counted.
    """
    now = now or timezone.now()
    _require(actor, Capability.EXCEPTION_LOG)
    text = _clean_request(request_text)
    action_taken = " ".join((action_taken or "").split())[:500]
    category = " ".join((category or "").split())[:80]
    customer = customer_current(customer)
    if conversation is not None and conversation.customer_id not in customer_group_ids(customer):
        raise InvalidInput("conversation: belongs to another customer.", field="conversation")
    group_id, score = nearest_group(text, _exemplars())
    if group_id is None:
        group = ExceptionGroup.objects.create(label=text[:MAX_LABEL], created_at=now)
        is_exemplar = True
    else:
        group = ExceptionGroup.objects.select_for_update().get(pk=group_id)
        is_exemplar = group.members.filter(is_exemplar=True).count() < MAX_EXEMPLARS
    covered = group.state == ExceptionGroup.State.ADOPTED
    entry = ExceptionEntry.objects.create(
        customer=customer,
        conversation=conversation,
        request_text=text,
        action_taken=action_taken,
        category=category,
        logged_by=_user(actor),
        logged_at=now,
        group=group,
        similarity=score if group_id is not None else None,
        is_covered_by_decision=covered,
        is_exemplar=is_exemplar,
    )
    if not covered:
        ExceptionGroup.objects.filter(pk=group.pk).update(member_count=F("member_count") + 1)
        group.refresh_from_db()
    summary = (
        f"Request covered by an adopted policy: {text[:200]}"
        if covered
        else f"Exception logged: {text[:200]}"
    )
    timeline_append(
        customer=customer,
        kind="exception.covered" if covered else "exception.logged",
        channel=conversation.channel if conversation else "",
        summary=summary,
        occurred_at=now,
        subject=entry,
        data={"group": group.pk, "action_taken": action_taken, "category": category},
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        object_type="exception",
        object_id=entry.pk,
        customer_id=customer.pk,
        detail={"group": group.pk, "covered": covered},
        now=now,
    )
    if not covered:
        _check_threshold(group=group, now=now)
    return entry


def _owner_for(group: ExceptionGroup) -> User | None:
    """The team lead if a manager, else the manager with the lowest id (deterministic)."""
    leads = (
        group.members.filter(conversation__team__lead__isnull=False)
        .values_list("conversation__team__lead_id", flat=True)
        .order_by("-logged_at")
    )
    for lead in User.objects.filter(pk__in=list(leads), is_active=True):
        if Role.MANAGER in access.user_roles(lead):
            return lead
    return User.objects.filter(is_active=True, groups__name=Role.MANAGER.value).order_by("id").first()


def _check_threshold(*, group: ExceptionGroup, now: datetime) -> None:
    """A group that reached N exceptions within M days gets an owner and a decision date (S11)."""
    if group.state != ExceptionGroup.State.UNDECIDED or group.threshold_reached_at is not None:
        return
    window = timedelta(days=settings.REGARD_EXCEPTION_GROUP_WINDOW_DAYS)
    recent = group.members.filter(is_covered_by_decision=False, logged_at__gt=now - window).count()
    if recent < settings.REGARD_EXCEPTION_GROUP_THRESHOLD:
        return
    owner = _owner_for(group)
    due = promise_due_from_working_days(
        days=settings.REGARD_EXCEPTION_DECISION_WORKING_DAYS, calendar=calendar_for(None), now=now
    )
    group.threshold_reached_at = now
    group.owner = owner
    group.decision_due_at = due
    group.save(update_fields=["threshold_reached_at", "owner", "decision_due_at"])
    if owner is not None:
        Notification.objects.create(
            user=owner,
            kind=Notification.Kind.EXCEPTION_DUE,
            text=(
                f"Exception group #{group.pk} came back {recent} times in "
                f"{settings.REGARD_EXCEPTION_GROUP_WINDOW_DAYS} days: adopt or decline it by "
                f"{timezone.localtime(due):%d %b %Y}."
            ),
            created_at=now,
        )
    _timeline_for_group(
        group=group,
        kind="exception.group_due",
        summary=f"A request like yours is now due for a decision ({group.label[:120]})",
        now=now,
    )
    audit_record(
        actor=None,
        action=AuditEntry.Action.UPDATE,
        object_type="exception_group",
        object_id=group.pk,
        via="task",
        detail={
            "threshold_reached": recent,
            "owner": owner.username if owner else "",
            "due": due.isoformat(),
        },
        now=now,
    )


def _timeline_for_group(*, group: ExceptionGroup, kind: str, summary: str, now: datetime) -> None:
    """One timeline event per customer with a request in the group (every step is on theirs)."""
    customer_ids = set(group.members.values_list("customer_id", flat=True))
    for customer in Customer.objects.filter(pk__in=customer_ids).order_by("pk"):
        timeline_append(
            customer=customer,
            kind=kind,
            summary=summary,
            occurred_at=now,
            subject=group,
            data={"group": group.pk},
        )


def _recount(group_ids: set[int]) -> None:
    for group in ExceptionGroup.objects.filter(pk__in=group_ids):
        count = group.members.filter(is_covered_by_decision=False).count()
        if count == 0 and not group.members.exists() and group.state == ExceptionGroup.State.UNDECIDED:
            group.delete()  # nothing left in it, and nothing was decided about it
        elif group.member_count != count:
            group.member_count = count
            group.save(update_fields=["member_count"])


@transaction.atomic
def exception_move(
    *,
    exception: ExceptionEntry,
    to_group: ExceptionGroup | None,
    actor: Actor,
    now: datetime | None = None,
) -> ExceptionEntry:
    """An agent puts one exception into another group (``None``: a group of its own).

    The moved request becomes an exemplar of its new group, so the next request worded like it
    lands there too (how a German paraphrase joins an English group).
    """
    now = now or timezone.now()
    _require(actor, Capability.EXCEPTION_LOG)
    exception = ExceptionEntry.objects.select_for_update().get(pk=exception.pk)
    source_id = exception.group_id
    if to_group is not None and to_group.pk == source_id:
        raise InvalidInput("group_id: the exception is in that group already.", field="group_id")
    if to_group is None:
        to_group = ExceptionGroup.objects.create(label=exception.request_text[:MAX_LABEL], created_at=now)
    exception.group = to_group
    exception.is_exemplar = True
    exception.is_covered_by_decision = to_group.state == ExceptionGroup.State.ADOPTED
    exception.moved_by = _user(actor)
    exception.moved_at = now
    exception.save(update_fields=["group", "is_exemplar", "is_covered_by_decision", "moved_by", "moved_at"])
    _recount({source_id, to_group.pk})
    timeline_append(
        customer=exception.customer,
        kind="exception.moved",
        summary=f"Request regrouped with: {to_group.label[:200]}",
        occurred_at=now,
        subject=exception,
        data={"from_group": source_id, "to_group": to_group.pk},
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="exception",
        object_id=exception.pk,
        customer_id=exception.customer_id,
        detail={"from_group": source_id, "to_group": to_group.pk},
        now=now,
    )
    to_group.refresh_from_db()
    _check_threshold(group=to_group, now=now)
    return exception


def _clean_answers(answers: dict[str, str] | None) -> dict[str, str]:
    cleaned = {str(k).lower(): " ".join(str(v or "").split()) for k, v in (answers or {}).items()}
    for language in ANSWER_LANGUAGES:
        if not cleaned.get(language):
            raise InvalidInput(
                f"declined_answers.{language}: write the honest standard answer in '{language}'.",
                field=f"declined_answers.{language}",
            )
    for language, text in cleaned.items():
        if len(text) > MAX_REQUEST:
            raise InvalidInput(
                f"declined_answers.{language}: longer than {MAX_REQUEST} characters.",
                field=f"declined_answers.{language}",
            )
    return {language: text for language, text in cleaned.items() if text}


@transaction.atomic
def exception_group_decide(
    *,
    group: ExceptionGroup,
    decision: str,
    actor: Actor,
    adopted_policy_ref: str = "",
    adopted_rule: str = "",
    declined_answers: dict[str, str] | None = None,
    now: datetime | None = None,
) -> ExceptionGroup:
    """Adopt the group's request as policy, or decline it with an honest standard answer (S11)."""
    now = now or timezone.now()
    _require(actor, Capability.EXCEPTION_DECIDE)
    group = ExceptionGroup.objects.select_for_update().get(pk=group.pk)
    if decision not in ("adopt", "decline"):
        raise InvalidInput("decision: 'adopt' or 'decline'.", field="decision")
    if group.state != ExceptionGroup.State.UNDECIDED:
        raise Conflict(f"decision: this group was already {group.state}.", field="decision")
    if decision == "adopt":
        adopted_policy_ref = adopted_policy_ref.strip()[:300]
        adopted_rule = adopted_rule.strip()
        if not adopted_policy_ref and not adopted_rule:
            raise InvalidInput(
                "adopted_policy_ref: link the new or changed policy, or write the rule adopted.",
                field="adopted_policy_ref",
            )
        group.state = ExceptionGroup.State.ADOPTED
        group.adopted_policy_ref = adopted_policy_ref
        group.adopted_rule = adopted_rule
        summary = f"A request like yours became policy: {(adopted_rule or adopted_policy_ref)[:200]}"
    else:
        group.declined_answers = _clean_answers(declined_answers)
        group.state = ExceptionGroup.State.DECLINED
        summary = f"A request like yours was declined: {group.declined_answers['en'][:200]}"
    group.decided_at = now
    group.decided_by = _user(actor)
    group.save()
    _timeline_for_group(group=group, kind=f"exception.group_{group.state}", summary=summary, now=now)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="exception_group",
        object_id=group.pk,
        detail={"decision": group.state, "policy": adopted_policy_ref},
        now=now,
    )
    return group


@transaction.atomic
def exception_regroup(*, actor: Actor, now: datetime | None = None) -> dict[str, int]:
    """Group the whole registry again with the current similarity (after a tuning, an import).

    What people decided stays: members of adopted or declined groups and exceptions an agent
    moved keep their group and stand for it; everything else is grouped again, oldest first.
    A new group takes over the old undecided group most of its members came from.
    """
    now = now or timezone.now()
    _require(actor, Capability.EXCEPTION_DECIDE)
    rows = list(
        ExceptionEntry.objects.order_by("logged_at", "id").values_list(
            "pk", "request_text", "group_id", "group__state", "moved_by_id"
        )
    )
    if not rows:
        return {"exceptions": 0, "groups": 0, "moved": 0}
    seeds: list[int | None] = [
        group_id if (state != ExceptionGroup.State.UNDECIDED or moved_by) else None
        for _, _, group_id, state, moved_by in rows
    ]
    labels = group_requests([text for _, text, _, _, _ in rows], seeds=seeds)
    seeded = {seed for seed in seeds if seed is not None}
    # Each new label takes over the undecided group that gave it most members (largest first).
    votes: dict[int, Counter[int]] = {}
    for (_, _, group_id, _, _), label, seed in zip(rows, labels, seeds, strict=True):
        if seed is None:
            votes.setdefault(label, Counter())[group_id] += 1
    taken: set[int] = set(seeded)
    target: dict[int, int] = {seed: seed for seed in seeded}
    for label, counter in sorted(votes.items(), key=lambda item: -sum(item[1].values())):
        if label in target:  # joined a group people decided about, or an agent's move
            continue
        for group_id, _ in counter.most_common():
            if group_id not in taken:
                taken.add(group_id)
                target[label] = group_id
                break
    text_of = {pk: text for pk, text, _, _, _ in rows}
    first_row: dict[int, int] = {}
    for (pk, _, _, _, _), label in zip(rows, labels, strict=True):
        first_row.setdefault(label, pk)
    for label in votes:
        if label not in target:
            group = ExceptionGroup.objects.create(label=text_of[first_row[label]][:MAX_LABEL], created_at=now)
            target[label] = group.pk
    moved = 0
    changes: list[ExceptionEntry] = []
    seen: Counter[int] = Counter()
    for (pk, _, group_id, _, moved_by), label in zip(rows, labels, strict=True):
        new_group = target[label]
        seen[new_group] += 1
        entry = ExceptionEntry(
            pk=pk, group_id=new_group, is_exemplar=bool(moved_by) or seen[new_group] <= MAX_EXEMPLARS
        )
        moved += new_group != group_id
        changes.append(entry)
    ExceptionEntry.objects.bulk_update(changes, ["group", "is_exemplar"], batch_size=2000)
    all_groups = set(ExceptionGroup.objects.values_list("pk", flat=True))
    _recount(all_groups)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        object_type="exception_registry",
        detail={"exceptions": len(rows), "moved": moved},
        now=now,
    )
    return {"exceptions": len(rows), "groups": len(set(target.values())), "moved": moved}
