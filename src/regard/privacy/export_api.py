"""Exports over HTTP (GDPR Art. 15/20): ask for one, watch it, download it, send the link."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpResponse
from django.urls import reverse
from ninja import Router, Schema, Status

from regard.api.auth import ApiRequest, requires
from regard.privacy import export as services
from regard.privacy.models import DataExport
from regard.privacy.roles import Capability

# Mounted at /customers.
export_router = Router(tags=["privacy"])


class ExportOut(Schema):
    id: int
    customer_id: int
    state: str
    progress: int
    language: str
    created_at: datetime
    finished_at: datetime | None
    archive_bytes: int
    parts: dict[str, int]
    error: str
    link_sent_at: datetime | None
    download_url: str | None


def export_out(export: DataExport, *, customer_id: int) -> ExportOut:
    done = export.state == DataExport.State.DONE
    return ExportOut(
        id=export.pk,
        customer_id=export.customer_id,
        state=export.state,
        progress=export.progress,
        language=export.language,
        created_at=export.created_at,
        finished_at=export.finished_at,
        archive_bytes=export.archive_size,
        parts=export.parts,
        error=export.error,
        link_sent_at=export.link_sent_at,
        download_url=(
            reverse("api-v1:export_archive", kwargs={"customer_id": customer_id, "export_id": export.pk})
            if done
            else None
        ),
    )


@export_router.post(
    "/{customer_id}/export",
    auth=requires(Capability.CUSTOMER_EXPORT),
    response={202: ExportOut},
    summary="Start an export of everything held about this customer (Art. 15/20); built in the background",
)
def export_start(request: ApiRequest, customer_id: int) -> Status:
    export = services.export_request(actor=request.auth, customer_id=customer_id, via="api")
    return Status(202, export_out(export, customer_id=customer_id))


@export_router.get(
    "/{customer_id}/exports",
    auth=requires(Capability.CUSTOMER_EXPORT),
    response=list[ExportOut],
    summary="This customer's exports, newest first",
)
def export_index(request: ApiRequest, customer_id: int) -> list[ExportOut]:
    exports = services.export_list(actor=request.auth, customer_id=customer_id)
    return [export_out(e, customer_id=customer_id) for e in exports]


@export_router.get(
    "/{customer_id}/exports/{export_id}",
    auth=requires(Capability.CUSTOMER_EXPORT),
    response=ExportOut,
    summary="An export's state and progress; when done, the URL of its archive",
)
def export_detail(request: ApiRequest, customer_id: int, export_id: int) -> ExportOut:
    export = services.export_get(actor=request.auth, customer_id=customer_id, export_id=export_id)
    return export_out(export, customer_id=customer_id)


@export_router.get(
    "/{customer_id}/exports/{export_id}/archive",
    auth=requires(Capability.CUSTOMER_EXPORT),
    url_name="export_archive",
    response={200: None},
    summary="Download the export's zip archive (JSON per part, summary.html, attachments)",
    openapi_extra={
        "responses": {"200": {"description": "The zip archive", "content": {"application/zip": {}}}}
    },
)
def export_archive(request: ApiRequest, customer_id: int, export_id: int) -> HttpResponse:
    download = services.export_download(
        actor=request.auth, customer_id=customer_id, export_id=export_id, via="api"
    )
    response = HttpResponse(download.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    return response


@export_router.post(
    "/{customer_id}/exports/{export_id}/send-link",
    auth=requires(Capability.CUSTOMER_EXPORT),
    response=ExportOut,
    summary="Send the customer a signed download link that expires, as a service message through the gate",
)
def export_send_link(request: ApiRequest, customer_id: int, export_id: int) -> ExportOut:
    export = services.export_send_link(
        actor=request.auth, customer_id=customer_id, export_id=export_id, via="api"
    )
    return export_out(export, customer_id=customer_id)
