"""Everything held about one person, gathered for an export (GDPR Art. 15 and 20).

Which rows belong to a person comes from the ownership registry (``customers.ownership``):
every model registered there is exported, read across the merge group, so a model an app
adds later travels in the archive without a change here. A few relations point at a
customer without being moved on merge (the timeline, merge records, match decisions,
bounce and complaint reports); they are read here by name. ``tests/privacy/test_export_
coverage.py`` fails when a foreign key to Customer is in neither list.

No access check or audit here: ``privacy.export`` checks the role and audits the export.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import models
from django.db.models import Q

from regard.customers.models import Customer, MergeRecord, TimelineEvent
from regard.customers.ownership import owned_relations
from regard.customers.selectors import customer_group_ids

Row = dict[str, Any]

# Part names of the registered relations; a relation registered later is exported under its
# model label (e.g. "outreach.journeyenrollment") until it is given a name here.
PART_NAMES = {
    "customers.identifier.customer": "identifiers",
    "customers.order.customer": "orders",
    "consent.consentevent.customer": "consent_history",
    "consent.preferencechange.customer": "preference_changes",
    "outreach.outboxmessage.customer": "messages",
    "outreach.journeyenrollment.customer": "journeys",
    "support.conversation.customer": "conversations",
    "policies.promise.customer": "promises",
    "policies.remedygrant.customer": "remedy_grants",
    "policies.exceptionentry.customer": "exceptions",
    "insights.recoveryitem.customer": "recovery_items",
    "privacy.dataexport.customer": "exports",
}

# Foreign keys to Customer that no merge moves, read here by name (and the part they fill).
READ_BY_NAME = {
    "customers.customer.merged_into": "profile",
    "customers.timelineevent.customer": "timeline",
    "customers.mergerecord.survivor": "merges",
    "customers.mergerecord.absorbed": "merges",
    "matching.matchcandidate.customer_low": "match_decisions",
    "matching.matchcandidate.customer_high": "match_decisions",
    "outreach.inboundfeedback.customer": "feedback_reports",
}

# Relations to Customer deliberately left out of the archive, each with the reason.
NOT_EXPORTED = {
    "matching.matchkey.customer": "keyed hashes of the profile's own fields for blocking, nothing of their own",
}


@dataclass(frozen=True)
class AttachmentFile:
    path: str  # inside the archive
    data: bytes


@dataclass
class PersonData:
    customer: Customer
    group: list[int]
    parts: dict[str, list[Row]] = field(default_factory=dict)
    files: list[AttachmentFile] = field(default_factory=list)


def exported_relation_keys() -> set[str]:
    """Every relation to Customer the export reads: the registry's, and those read by name."""
    return {relation.key for relation in owned_relations()} | set(READ_BY_NAME)


def part_name(key: str) -> str:
    return PART_NAMES.get(key, key.rsplit(".", 1)[0])


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


class _Users:
    """Staff named by username in the archive (who acted), each looked up once."""

    def __init__(self) -> None:
        self._names: dict[int, str] = {}

    def name(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self._names:
            found = User.objects.filter(pk=user_id).values_list("username", flat=True).first()
            self._names[user_id] = found or f"user {user_id}"
        return self._names[user_id]


def row_of(obj: models.Model, users: _Users, *, leave_out: Iterable[str] = ()) -> Row:
    """A model row as JSON: every concrete field; staff by username; binary data left out."""
    row: Row = {}
    skipped = set(leave_out)
    for model_field in obj._meta.concrete_fields:
        if model_field.name in skipped or isinstance(model_field, models.BinaryField):
            continue
        if model_field.is_relation:
            target = model_field.related_model
            raw = getattr(obj, model_field.attname)
            if target is User:
                row[model_field.name] = users.name(raw)
            else:
                row[model_field.attname] = raw
            continue
        row[model_field.name] = _json_value(getattr(obj, model_field.attname))
    return row


def _registered_rows(key: str, group: list[int], users: _Users) -> tuple[list[models.Model], list[Row]]:
    relation = next(r for r in owned_relations() if r.key == key)
    objects = list(
        relation.model._default_manager.filter(**{f"{relation.field_name}_id__in": group}).order_by("pk")
    )
    return objects, [row_of(obj, users) for obj in objects]


def _orders(objects: list[models.Model], rows: list[Row], data: PersonData, users: _Users) -> None:
    from regard.customers.models import OrderLine

    lines = OrderLine.objects.filter(order_id__in=[o.pk for o in objects]).select_related("product")
    by_order: dict[int, list[Row]] = {}
    for line in lines.order_by("pk"):
        entry = row_of(line, users)
        entry["product"] = {
            "sku": line.product.sku,
            "name": line.product.name,
            "category": line.product.category,
        }
        by_order.setdefault(line.order_id, []).append(entry)
    for row in rows:
        row["lines"] = by_order.get(row["id"], [])


def _safe_filename(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "file"
    return cleaned[:120]


def _conversations(objects: list[models.Model], rows: list[Row], data: PersonData, users: _Users) -> None:
    from regard.support.models import Attachment, Message, SatisfactionSurvey

    ids = [c.pk for c in objects]
    messages: dict[int, list[Row]] = {}
    message_rows: dict[int, Row] = {}
    for message in Message.objects.filter(conversation_id__in=ids).order_by("created_at", "pk"):
        entry = row_of(message, users)
        entry["attachments"] = []
        message_rows[message.pk] = entry
        messages.setdefault(message.conversation_id, []).append(entry)
    for attachment in Attachment.objects.filter(message_id__in=list(message_rows)).order_by("pk"):
        path = f"attachments/{attachment.message_id}/{attachment.pk}-{_safe_filename(attachment.filename)}"
        entry = row_of(attachment, users)
        entry["file"] = path
        message_rows[attachment.message_id]["attachments"].append(entry)
        data.files.append(AttachmentFile(path=path, data=bytes(attachment.data)))
    surveys = {
        # The survey's token is the secret of its answer link, not data about the person.
        s.conversation_id: row_of(s, users, leave_out=["token"])
        for s in SatisfactionSurvey.objects.filter(conversation_id__in=ids)
    }
    for row in rows:
        row["messages"] = messages.get(row["id"], [])
        row["survey"] = surveys.get(row["id"])


def _outbox(objects: list[models.Model], rows: list[Row], data: PersonData, users: _Users) -> None:
    """Each message as it read when sent (rendered again from its template), and the gate's decision."""
    from regard.errors import RegardError
    from regard.outreach.models import Campaign, OutboxMessage
    from regard.outreach.render import MissingData, customer_context, render

    messages = [obj for obj in objects if isinstance(obj, OutboxMessage)]
    campaign_ids = {m.campaign_id for m in messages if m.campaign_id}
    campaigns = {c.pk: c for c in Campaign.objects.filter(pk__in=campaign_ids)}
    for obj, row in zip(messages, rows, strict=True):
        campaign = campaigns.get(obj.campaign_id) if obj.campaign_id else None
        row["campaign"] = campaign.name if campaign else None
        try:
            shown = render(
                subject=obj.subject or (campaign.subject if campaign else ""),
                body=obj.body or (campaign.body if campaign else ""),
                variants=campaign.variants if campaign else {},
                language=data.customer.language,
                context=customer_context(data.customer, obj.context),
            )
            row["content"] = {"subject": shown.subject, "body": shown.body}
        except (MissingData, RegardError):
            # Links made at send time (unsubscribe) are not kept; the template stands in.
            row["content"] = None
        row["gate_decision"] = {"outcome": obj.gate_outcome, "reasons": obj.gate_reasons}


Enrich = Callable[[list[models.Model], list[Row], PersonData, _Users], None]
ENRICH: dict[str, Enrich] = {
    "customers.order.customer": _orders,
    "support.conversation.customer": _conversations,
    "outreach.outboxmessage.customer": _outbox,
}


def _profile(data: PersonData, users: _Users) -> list[Row]:
    profiles = Customer.objects.filter(pk__in=data.group).order_by("pk")
    return [row_of(c, users, leave_out=["search_text"]) for c in profiles]


def _timeline(data: PersonData, users: _Users) -> list[Row]:
    events = TimelineEvent.objects.filter(customer_id__in=data.group).order_by("occurred_at", "pk")
    return [row_of(e, users) for e in events]


def _merges(data: PersonData, users: _Users) -> list[Row]:
    group = data.group
    merges = MergeRecord.objects.filter(Q(survivor_id__in=group) | Q(absorbed_id__in=group)).order_by("pk")
    return [row_of(m, users) for m in merges]


def _match_decisions(data: PersonData, users: _Users) -> list[Row]:
    from regard.matching.models import MatchCandidate

    group = data.group
    pairs = MatchCandidate.objects.filter(Q(customer_low_id__in=group) | Q(customer_high_id__in=group))
    return [row_of(p, users) for p in pairs.order_by("pk")]


def _feedback_reports(data: PersonData, users: _Users) -> list[Row]:
    from regard.outreach.models import InboundFeedback

    reports = InboundFeedback.objects.filter(customer_id__in=data.group).order_by("pk")
    return [row_of(r, users) for r in reports]


def _access_log(data: PersonData, users: _Users) -> list[Row]:
    """Art. 15(1)(c): who in the company read or changed the person's data, and when."""
    from regard.privacy.models import AuditEntry

    entries = AuditEntry.objects.filter(customer_id__in=data.group).order_by("occurred_at", "pk")
    return [row_of(e, users, leave_out=["actor"]) for e in entries]


NAMED_PARTS: dict[str, Callable[[PersonData, _Users], list[Row]]] = {
    "profile": _profile,
    "timeline": _timeline,
    "merges": _merges,
    "match_decisions": _match_decisions,
    "feedback_reports": _feedback_reports,
    "access_log": _access_log,
}


def person_data(*, customer: Customer, progress: Callable[[int], None] | None = None) -> PersonData:
    """Every part of the archive for ``customer`` and the profiles merged into it."""
    data = PersonData(customer=customer, group=customer_group_ids(customer))
    users = _Users()
    keys = sorted(relation.key for relation in owned_relations())
    steps = len(keys) + len(NAMED_PARTS)
    done = 0
    for name, read in NAMED_PARTS.items():
        if name == "access_log":
            continue  # read last, so the log includes what the rest of the export looked at
        data.parts[name] = read(data, users)
        done += 1
        if progress:
            progress(done * 100 // steps)
    for key in keys:
        objects, rows = _registered_rows(key, data.group, users)
        enrich = ENRICH.get(key)
        if enrich:
            enrich(objects, rows, data, users)
        data.parts.setdefault(part_name(key), []).extend(rows)
        done += 1
        if progress:
            progress(done * 100 // steps)
    data.parts["access_log"] = _access_log(data, users)
    return data
