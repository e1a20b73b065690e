"""Back-office base classes shared by every app's admin.

The back office reads; people, consent and messages change only through services, so
these admins refuse add, change and delete (no business logic in admin hooks).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from regard.privacy.services import audit_record_reads


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class AuditedReadOnlyAdmin(ReadOnlyAdmin):
    """Invariant 6: a back-office page that shows a customer's data records the read.

    ``customer_field`` names the customer id on a row; a dotted path (``conversation.customer_id``)
    follows a relation, which ``list_select_related`` should then load with the list.
    """

    customer_field = "customer_id"

    def _customer_id(self, row: Any) -> Any:
        value = row
        for attribute in self.customer_field.split("."):
            value = getattr(value, attribute, None)
        return value

    def _customer_ids(self, rows: Iterable[Any]) -> list[int]:
        return sorted({customer_id for row in rows if (customer_id := self._customer_id(row))})

    def _audit(self, request: HttpRequest, rows: Iterable[Any]) -> None:
        audit_record_reads(
            actor=request.user,
            customer_ids=self._customer_ids(rows),
            object_type=self.model._meta.model_name or "",
            via="admin",
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            self._audit(request, changelist.result_list)
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original")
        if original is not None:
            self._audit(request, [original])
        return response
