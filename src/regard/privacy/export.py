"""Exports of a person's data (GDPR Art. 15 access and Art. 20 portability).

An admin asks for an export; a task gathers every part (``export_selectors``) into one zip of
JSON files with a readable summary in the customer's language and the attachment files
themselves. Staff download it with the same role; the customer can be sent a signed link
that expires, through the outbox and the gate like every other message. Every step is audited.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tasks import task

from regard.customers.models import Customer
from regard.customers.selectors import customer_current
from regard.errors import Conflict, InvalidInput, NotFound
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.export_selectors import PersonData, person_data
from regard.privacy.models import AuditEntry, DataExport
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record

FORMAT_VERSION = 1
LINK_SALT = "regard.privacy.export-link"
# Languages the summary is written in; any other falls back to English.
SUMMARY_LANGUAGES = ("en", "de")


# --- asking for one ---------------------------------------------------------------------------


@transaction.atomic
def _audit(
    export: DataExport, *, event: str, actor: Any, via: str, now: datetime | None = None, **detail: Any
) -> None:
    """Every step of an export is in the audit log (Art. 15(1)(c)): requested, built, sent, downloaded."""
    audit_record(
        actor=actor,
        action=AuditEntry.Action.EXPORT,
        object_type="data_export",
        object_id=export.pk,
        customer_id=export.customer_id,
        via=via,
        detail={"event": event, **detail},
        now=now,
    )


def export_request(
    *, actor: AnyUser, customer_id: int, via: str = "api", now: datetime | None = None
) -> DataExport:
    """Queue an export of the person behind ``customer_id`` (the survivor, if it was merged)."""
    access.require(actor, Capability.CUSTOMER_EXPORT)
    now = now or timezone.now()
    found = Customer.objects.filter(pk=customer_id).first()
    if found is None:
        raise NotFound(f"No customer with id {customer_id}.", field="id")
    customer = customer_current(found)
    export = DataExport.objects.create(
        customer=customer,
        requested_by=actor if actor.is_authenticated else None,
        language=summary_language(customer.language),
        created_at=now,
    )
    _audit(export, event="requested", actor=actor, via=via, now=now)
    # Written in this transaction (the database is the queue): no export without its task.
    export_build_task.enqueue(export.pk)
    return export


def summary_language(language: str) -> str:
    base = (language or "en").replace("_", "-").split("-")[0].lower()
    return base if base in SUMMARY_LANGUAGES else "en"


# --- building it ------------------------------------------------------------------------------


def _progress(export_id: int) -> Callable[[int], None]:
    def record(percent: int) -> None:
        # Each part's step commits on its own so the API shows progress while the task runs.
        DataExport.objects.filter(pk=export_id).update(progress=min(percent, 99))

    return record


def export_build(*, export_id: int, now: datetime | None = None) -> DataExport:
    """Gather, write the archive, mark it done. Safe to run again: a finished export is left as is."""
    export = DataExport.objects.select_related("customer").filter(pk=export_id).first()
    if export is None:
        raise NotFound(f"No export with id {export_id}.", field="export_id")
    if export.state not in (DataExport.State.QUEUED, DataExport.State.RUNNING, DataExport.State.FAILED):
        return export
    started = now or timezone.now()
    DataExport.objects.filter(pk=export.pk).update(
        state=DataExport.State.RUNNING, started_at=started, error=""
    )
    try:
        data = person_data(customer=export.customer, progress=_progress(export.pk))
        archive = build_archive(data=data, export=export, now=started)
    except Exception as error:
        DataExport.objects.filter(pk=export.pk).update(
            state=DataExport.State.FAILED, error=f"{type(error).__name__}: {error}"[:500]
        )
        raise
    finished = now or timezone.now()
    with transaction.atomic():
        DataExport.objects.filter(pk=export.pk).update(
            state=DataExport.State.DONE,
            progress=100,
            finished_at=finished,
            archive=archive,
            archive_size=len(archive),
            archive_sha256=hashlib.sha256(archive).hexdigest(),
            parts={name: len(rows) for name, rows in data.parts.items()},
        )
        _audit(
            export,
            event="built",
            actor=None,
            via="system",
            now=finished,
            bytes=len(archive),
            files=len(data.files),
        )
    export.refresh_from_db()
    return export


@task()
def export_build_task(export_id: int) -> str:
    return export_build(export_id=export_id).state


def build_archive(*, data: PersonData, export: DataExport, now: datetime) -> bytes:
    manifest = {
        "format_version": FORMAT_VERSION,
        "export_id": export.pk,
        "customer_id": data.customer.pk,
        "profiles": data.group,
        "generated_at": now.isoformat(),
        "language": export.language,
        "parts": {
            name: {"file": f"data/{name}.json", "records": len(rows)} for name, rows in data.parts.items()
        },
        "files": [f.path for f in data.files],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", _json(manifest))
        for name, rows in data.parts.items():
            archive.writestr(f"data/{name}.json", _json(rows))
        for attachment in data.files:
            archive.writestr(attachment.path, attachment.data)
        archive.writestr("summary.html", summary_html(data=data, language=export.language, now=now))
    return buffer.getvalue()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def _part_labels() -> dict[str, str]:
    # In the active language: called inside translation.override(the customer's language).
    return {
        "profile": gettext("Your profile"),
        "identifiers": gettext("Email addresses, phone numbers and other identifiers"),
        "orders": gettext("Orders"),
        "consent_history": gettext("Consent history"),
        "preference_changes": gettext("Changes to your contact preferences"),
        "messages": gettext("Messages we sent or planned to send you"),
        "journeys": gettext("Automated message series"),
        "conversations": gettext("Support conversations"),
        "timeline": gettext("Timeline"),
        "promises": gettext("Promises we made to you"),
        "remedy_grants": gettext("Remedies granted"),
        "exceptions": gettext("Requests outside our policies"),
        "recovery_items": gettext("Follow-ups after a bad experience"),
        "match_decisions": gettext("Decisions on possible duplicate profiles"),
        "merges": gettext("Merges of your profiles"),
        "feedback_reports": gettext("Bounce and spam-complaint reports"),
        "exports": gettext("Exports of your data"),
        "access_log": gettext("Who in our company read or changed your data"),
    }


def summary_html(*, data: PersonData, language: str, now: datetime) -> str:
    with translation.override(language):
        labels = _part_labels()
        parts = [
            {"name": name, "label": labels.get(name, name), "records": len(rows)}
            for name, rows in data.parts.items()
        ]
        readers: dict[str, int] = {}
        for entry in data.parts.get("access_log", []):
            readers[entry["actor_label"]] = readers.get(entry["actor_label"], 0) + 1
        return render_to_string(
            "privacy/export_summary.html",
            {
                "language": language,
                "customer": data.customer,
                "greeting": data.customer.greeting,
                "generated_at": now,
                "parts": parts,
                "identifiers": data.parts.get("identifiers", []),
                "orders": data.parts.get("orders", []),
                "consents": data.parts.get("consent_history", []),
                "messages": data.parts.get("messages", []),
                "conversations": data.parts.get("conversations", []),
                "readers": sorted(readers.items()),
                "company": settings.REGARD_POSTAL_ADDRESS,
            },
        )


# --- reading and downloading ------------------------------------------------------------------


def export_get(*, actor: AnyUser, customer_id: int, export_id: int) -> DataExport:
    """The export, if it is of this customer (a mismatched pair is as unknown as a missing one)."""
    access.require(actor, Capability.CUSTOMER_EXPORT)
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"No customer with id {customer_id}.", field="id")
    export = (
        DataExport.objects.defer("archive")
        .filter(pk=export_id, customer_id__in=_ids_for(customer_id))
        .first()
    )
    if export is None:
        raise NotFound(f"No export {export_id} of customer {customer_id}.", field="export_id")
    return export


def _ids_for(customer_id: int) -> list[int]:
    """A merged-away id still finds the exports made of the person it was merged into."""
    customer = Customer.objects.get(pk=customer_id)
    return sorted({customer_id, customer_current(customer).pk})


def export_list(*, actor: AnyUser, customer_id: int, limit: int = 20) -> list[DataExport]:
    access.require(actor, Capability.CUSTOMER_EXPORT)
    if not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(f"No customer with id {customer_id}.", field="id")
    return list(DataExport.objects.defer("archive").filter(customer_id__in=_ids_for(customer_id))[:limit])


@dataclass(frozen=True)
class Download:
    filename: str
    content: bytes


def _archive_of(export: DataExport) -> Download:
    if export.state == DataExport.State.EXPIRED:
        raise Conflict(
            "state: this export's archive was removed when its retention period ended.", field="state"
        )
    if export.state != DataExport.State.DONE:
        raise Conflict(f"state: the export is {export.state}, not done yet.", field="state")
    content = DataExport.objects.filter(pk=export.pk).values_list("archive", flat=True).get()
    if content is None:
        raise Conflict("state: this export's archive was removed.", field="state")
    stamp = (export.finished_at or export.created_at).strftime("%Y%m%d")
    return Download(
        filename=f"regard-export-{export.customer_id}-{stamp}-{export.pk}.zip", content=bytes(content)
    )


def export_download(*, actor: AnyUser, customer_id: int, export_id: int, via: str = "api") -> Download:
    export = export_get(actor=actor, customer_id=customer_id, export_id=export_id)
    download = _archive_of(export)
    _audit(export, event="downloaded", actor=actor, via=via)
    return download


# --- the customer's own link ------------------------------------------------------------------


def link_max_age() -> timedelta:
    return timedelta(days=settings.REGARD_EXPORT_LINK_DAYS)


def link_token(*, export: DataExport) -> str:
    signer = signing.TimestampSigner(salt=LINK_SALT, sep="~")
    return signer.sign_object([export.pk, export.customer_id])


def link_read(token: str) -> tuple[int, int]:
    signer = signing.TimestampSigner(salt=LINK_SALT, sep="~")
    try:
        export_id, customer_id = signer.unsign_object(token, max_age=link_max_age())
        return int(export_id), int(customer_id)
    except signing.SignatureExpired:
        raise InvalidInput(
            "token: this download link has expired; ask us for a new one.", field="token", reason="expired"
        ) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidInput(
            "token: this download link is not valid (it may be cut short).", field="token"
        ) from None


def link_url(token: str) -> str:
    return f"{settings.REGARD_PUBLIC_URL}/privacy/exports/d/{token}"


@transaction.atomic
def export_send_link(
    *, actor: AnyUser, customer_id: int, export_id: int, via: str = "api", now: datetime | None = None
) -> DataExport:
    """Send the customer a signed, expiring download link as a service message (through the gate)."""
    from regard.outreach.services import service_message_send

    now = now or timezone.now()
    export = export_get(actor=actor, customer_id=customer_id, export_id=export_id)
    _archive_of(export)  # only a finished archive can be sent
    customer = Customer.objects.get(pk=export.customer_id)
    token = link_token(export=export)
    days = settings.REGARD_EXPORT_LINK_DAYS
    with translation.override(export.language or "en"):
        subject = gettext("Your data, as you asked")
        body = gettext(
            "{{ greeting }},\n\nhere is everything we hold about you, in one file:\n"
            "{{ export_url }}\n\nThe link works for %(days)s days."
        ) % {"days": days}
    row, _ = service_message_send(
        actor=actor,
        customer=customer,
        # The link travels in the context, so the template holds no secret of its own.
        subject=subject,
        body=body,
        context={"export_url": link_url(token), "export": export.pk},
        dedupe_key=f"export-link:{export.pk}:{now.isoformat()}",
        via=via,
        now=now,
    )
    DataExport.objects.filter(pk=export.pk).update(link_sent_at=now)
    _audit(export, event="link_sent", actor=actor, via=via, now=now, outbox_message=row.pk, valid_days=days)
    export.link_sent_at = now
    return export


def export_download_by_link(*, token: str) -> Download:
    """The customer's own download: the signed token is the only credential (invariant 6)."""
    export_id, customer_id = link_read(token)
    export = DataExport.objects.defer("archive").filter(pk=export_id, customer_id=customer_id).first()
    if export is None:
        raise InvalidInput("token: this download link is not valid.", field="token")
    download = _archive_of(export)
    _audit(export, event="downloaded_by_link", actor=None, via="link")
    return download
