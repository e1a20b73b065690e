"""Retention: personal data kept no longer than it is needed (GDPR Art. 5(1)(e)).

Each kind has a period in settings (``REGARD_RETENTION_*_DAYS``, docs/privacy.md); 0 keeps it
for ever. A task runs once a day and re-enqueues itself with ``run_after``; ``regard retention
--dry-run`` prints what the next run would remove.

What is not here, on purpose: the timeline and the consent ledger are append-only (database
triggers, invariant 4) and are never touched by retention. Regard keeps no raw web events:
a web visit is a timeline event (``web.visit``), so it follows the timeline's rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tasks import task

from regard.privacy.models import AuditEntry, DataExport
from regard.privacy.services import audit_record

RUN_EVERY = timedelta(days=1)
BATCH = 500


@dataclass(frozen=True)
class Kind:
    name: str
    setting: str
    what: str


KINDS = (
    Kind(
        "conversation_messages",
        "REGARD_RETENTION_CONVERSATION_DAYS",
        "texts of messages in conversations resolved or closed and untouched for over {days} days",
    ),
    Kind(
        "conversation_attachments",
        "REGARD_RETENTION_CONVERSATION_DAYS",
        "attachments in conversations resolved or closed and untouched for over {days} days",
    ),
    Kind("audit_entries", "REGARD_RETENTION_AUDIT_DAYS", "audit log entries older than {days} days"),
    Kind(
        "outbox_bodies",
        "REGARD_RETENTION_OUTBOX_BODY_DAYS",
        "subjects, bodies and template data of messages sent over {days} days ago",
    ),
    Kind(
        "export_archives",
        "REGARD_RETENTION_EXPORT_DAYS",
        "archives of exports built (or last sent) over {days} days ago",
    ),
)


def period(kind: Kind) -> timedelta | None:
    days = int(getattr(settings, kind.setting))
    return timedelta(days=days) if days > 0 else None


def _old_messages(cutoff: datetime) -> QuerySet:
    from regard.support.models import Conversation, Message

    finished = Conversation.objects.filter(
        status__in=[Conversation.Status.RESOLVED, Conversation.Status.CLOSED], updated_at__lt=cutoff
    )
    return Message.objects.filter(conversation__in=finished).filter(
        ~Q(body_text="") | ~Q(body_html="") | ~Q(raw="")
    )


def _old_attachments(cutoff: datetime) -> QuerySet:
    from regard.support.models import Attachment, Conversation

    return Attachment.objects.filter(
        message__conversation__status__in=[Conversation.Status.RESOLVED, Conversation.Status.CLOSED],
        message__conversation__updated_at__lt=cutoff,
    )


def _old_audit(cutoff: datetime) -> QuerySet:
    return AuditEntry.objects.filter(occurred_at__lt=cutoff)


def _old_outbox(cutoff: datetime) -> QuerySet:
    from regard.outreach.models import OutboxMessage

    return OutboxMessage.objects.filter(state=OutboxMessage.State.SENT, sent_at__lt=cutoff).filter(
        ~Q(subject="") | ~Q(body="") | ~Q(context={})
    )


def _old_exports(cutoff: datetime) -> QuerySet:
    # Counted from the last link sent, so a link never outlives the archive it points at.
    return DataExport.objects.annotate(kept_from=Coalesce("link_sent_at", "finished_at")).filter(
        state=DataExport.State.DONE, kept_from__lt=cutoff
    )


SELECT: dict[str, Callable[[datetime], QuerySet]] = {
    "conversation_messages": _old_messages,
    "conversation_attachments": _old_attachments,
    "audit_entries": _old_audit,
    "outbox_bodies": _old_outbox,
    "export_archives": _old_exports,
}


def _ids(queryset: QuerySet) -> list[int]:
    return list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH])


def _apply(name: str, cutoff: datetime, now: datetime) -> int:
    """Remove one kind in batches, each in its own transaction; returns how many rows changed."""
    from regard.outreach.models import OutboxMessage
    from regard.support.models import Attachment, Message

    total = 0
    while ids := _ids(SELECT[name](cutoff)):
        with transaction.atomic():
            if name == "conversation_messages":
                Message.objects.filter(pk__in=ids).update(
                    body_text="", body_html="", raw="", parse_error="", reply_check={}
                )
            elif name == "conversation_attachments":
                Attachment.objects.filter(pk__in=ids).delete()
            elif name == "audit_entries":
                AuditEntry.objects.filter(pk__in=ids).delete()
            elif name == "outbox_bodies":
                OutboxMessage.objects.filter(pk__in=ids).update(subject="", body="", context={})
            elif name == "export_archives":
                DataExport.objects.filter(pk__in=ids).update(
                    archive=None, state=DataExport.State.EXPIRED, archive_removed_at=now
                )
        total += len(ids)
    return total


def retention_plan(*, now: datetime | None = None) -> dict[str, int | None]:
    """What a run now would remove, per kind; None where the kind is kept for ever."""
    now = now or timezone.now()
    plan: dict[str, int | None] = {}
    for kind in KINDS:
        keep = period(kind)
        plan[kind.name] = None if keep is None else SELECT[kind.name](now - keep).count()
    return plan


def retention_enforce(*, now: datetime | None = None) -> dict[str, int | None]:
    """Remove what outlived its period and write one audit entry with the counts."""
    now = now or timezone.now()
    done: dict[str, int | None] = {}
    for kind in KINDS:
        keep = period(kind)
        done[kind.name] = None if keep is None else _apply(kind.name, now - keep, now)
    audit_record(
        actor=None,
        action=AuditEntry.Action.RETENTION,
        object_type="retention_run",
        via="system",
        detail={"removed": done},
        now=now,
    )
    return done


@task()
def retention_task() -> dict[str, int | None]:
    """Enforce the periods, then come back in a day (one chain of runs at a time)."""
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    done = retention_enforce(now=now)
    if not DBTaskResult.objects.filter(task_path=retention_task.module_path, status="READY").exists():
        retention_task.using(run_after=now + RUN_EVERY).enqueue()
    return done


def retention_kick_off(*, now: datetime | None = None) -> None:
    """Start the daily chain (`regard serve`, `regard retention --schedule`); a running chain is left alone."""
    from django_tasks_db.models import DBTaskResult

    if not DBTaskResult.objects.filter(task_path=retention_task.module_path, status="READY").exists():
        retention_task.using(run_after=now or timezone.now()).enqueue()
