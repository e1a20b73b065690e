from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from regard.customers.models import (
    Customer,
    Identifier,
    MergeRecord,
    Order,
    OrderLine,
    Product,
    TimelineEvent,
)
from regard.privacy.services import audit_record_reads

# The back office reads everything; changes to people go through services, so the
# change forms here are read-only and merges are undone from the API or Customer 360.


class ReadOnlyAdmin(admin.ModelAdmin):
    # Invariant 6: the back office shows personal data too, so its reads are audited.
    customer_field = "customer_id"

    def _customer_ids(self, objects: Any) -> list[int]:
        return sorted({getattr(o, self.customer_field) for o in objects if getattr(o, self.customer_field)})

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            audit_record_reads(
                actor=request.user,
                customer_ids=self._customer_ids(changelist.result_list),
                object_type=self.model._meta.model_name or "",
                via="admin",
            )
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
            audit_record_reads(
                actor=request.user,
                customer_ids=self._customer_ids([original]),
                object_type=self.model._meta.model_name or "",
                via="admin",
            )
        return response

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class IdentifierInline(admin.TabularInline):
    model = Identifier
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "value_raw", "value_normalised", "source", "first_seen_at")


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    customer_field = "pk"
    list_display = (
        "id",
        "preferred_name",
        "given_name",
        "family_name",
        "language",
        "country",
        "merged_into",
    )
    search_fields = ("search_text",)
    list_filter = ("formality", "language", "country")
    inlines = [IdentifierInline]


@admin.register(Identifier)
class IdentifierAdmin(ReadOnlyAdmin):
    list_display = ("kind", "value_normalised", "customer", "source", "first_seen_at")
    list_filter = ("kind", "source")
    search_fields = ("value_normalised",)
    raw_id_fields = ("customer",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "category")
    search_fields = ("sku", "name")
    list_filter = ("category",)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = ("product", "quantity", "unit_price")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("order_number", "customer", "purchased_at", "currency", "source")
    search_fields = ("order_number",)
    raw_id_fields = ("customer",)
    inlines = [OrderLineInline]


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "customer", "kind", "channel", "summary")
    list_filter = ("kind", "channel")
    raw_id_fields = ("customer",)


@admin.register(MergeRecord)
class MergeRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "survivor", "absorbed", "merged_at", "undone_at", "actor")
    raw_id_fields = ("survivor", "absorbed")
