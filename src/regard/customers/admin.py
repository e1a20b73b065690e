from django.contrib import admin

from regard.customers.models import (
    Customer,
    Identifier,
    MergeRecord,
    Order,
    OrderLine,
    Product,
    TimelineEvent,
)
from regard.web.admin_base import AuditedReadOnlyAdmin

# The back office reads everything; changes to people go through services, so the
# change forms here are read-only and merges are undone from the API or Customer 360.


class IdentifierInline(admin.TabularInline):
    model = Identifier
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "value_raw", "value_normalised", "source", "first_seen_at")


@admin.register(Customer)
class CustomerAdmin(AuditedReadOnlyAdmin):
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
class IdentifierAdmin(AuditedReadOnlyAdmin):
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
class OrderAdmin(AuditedReadOnlyAdmin):
    list_display = ("order_number", "customer", "purchased_at", "currency", "source")
    search_fields = ("order_number",)
    raw_id_fields = ("customer",)
    inlines = [OrderLineInline]


@admin.register(TimelineEvent)
class TimelineEventAdmin(AuditedReadOnlyAdmin):
    list_display = ("occurred_at", "customer", "kind", "channel", "summary")
    list_filter = ("kind", "channel")
    raw_id_fields = ("customer",)


@admin.register(MergeRecord)
class MergeRecordAdmin(AuditedReadOnlyAdmin):
    list_display = ("id", "survivor", "absorbed", "merged_at", "undone_at", "actor")
    raw_id_fields = ("survivor", "absorbed")
