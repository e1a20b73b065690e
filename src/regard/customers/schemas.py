"""Request and response shapes of the customers API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import AliasChoices, ConfigDict, Field, field_validator

from regard.api.schemas import ModelOut
from regard.customers.models import Customer, Identifier, MergeRecord, Order


class StrictIn(Schema):
    """Request bodies refuse fields they do not know, so a misplaced field is a 422, not ignored."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL in text; refuse it here rather than fail with a 500.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class AddressIn(StrictIn):
    street: str | None = Field(default=None, max_length=300)
    locality: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=20)
    region: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=2)


class IdentifierIn(StrictIn):
    kind: str
    value: str = Field(max_length=320)


class CustomerIn(StrictIn):
    preferred_name: str = Field(min_length=1, max_length=200)
    formality: str | None = None
    salutation: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: str | None = None
    address: AddressIn | None = None
    language: str | None = None
    time_zone: str | None = None
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=50)


class CustomerPatch(StrictIn):
    preferred_name: str | None = Field(default=None, min_length=1, max_length=200)
    formality: str | None = None
    salutation: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: str | None = None
    address: AddressIn | None = None
    language: str | None = None
    time_zone: str | None = None


class AddressOut(Schema):
    street: str
    locality: str
    postcode: str
    region: str
    country: str


class IdentifierOut(ModelOut):
    kind: str
    value: str = Field(validation_alias=AliasChoices("value_normalised", "value"))
    value_raw: str
    source: str
    first_seen_at: datetime


class CustomerOut(Schema):
    id: int
    preferred_name: str
    formality: str
    salutation: str
    greeting: str
    given_name: str
    family_name: str
    date_of_birth: date | None
    address: AddressOut
    language: str
    time_zone: str
    merged_into: int | None
    created_at: datetime
    updated_at: datetime
    identifiers: list[IdentifierOut]

    @staticmethod
    def from_model(customer: Customer, identifiers: list[Identifier] | None = None) -> CustomerOut:
        if identifiers is None:
            identifiers = list(customer.identifiers.all())
        return CustomerOut(
            id=customer.pk,
            preferred_name=customer.preferred_name,
            formality=customer.formality,
            salutation=customer.salutation,
            greeting=customer.greeting,
            given_name=customer.given_name,
            family_name=customer.family_name,
            date_of_birth=customer.date_of_birth,
            address=AddressOut(
                street=customer.street,
                locality=customer.locality,
                postcode=customer.postcode,
                region=customer.region,
                country=customer.country,
            ),
            language=customer.language,
            time_zone=customer.time_zone,
            merged_into=customer.merged_into_id,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
            identifiers=[IdentifierOut.from_model(i) for i in identifiers],
        )


class CustomerFound(CustomerOut):
    matched: str = Field(
        description='What the query matched: "name", "id" or the identifier, e.g. "phone +49 151 23456789".'
    )


class CustomerPage(Schema):
    items: list[CustomerFound]
    next_offset: int | None


class CustomerRefIn(StrictIn):
    """A customer given by id or by any identifier (kind and value)."""

    id: int | None = None
    kind: str | None = None
    value: str | None = None


class OrderLineIn(StrictIn):
    sku: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=300)
    category: str | None = Field(default=None, max_length=100)
    quantity: int = Field(ge=1, le=100000)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class OrderIn(StrictIn):
    customer: CustomerRefIn
    order_number: str = Field(min_length=1, max_length=64)
    purchased_at: datetime
    delivered_at: datetime | None = None
    currency: str = Field(min_length=3, max_length=3)
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)


class DeliveryIn(StrictIn):
    delivered_at: datetime


class OrderLineOut(Schema):
    sku: str
    name: str
    category: str
    quantity: int
    unit_price: Decimal


class OrderOut(Schema):
    id: int
    customer_id: int
    order_number: str
    purchased_at: datetime
    delivered_at: datetime | None
    currency: str
    lines: list[OrderLineOut]

    @staticmethod
    def from_model(order: Order) -> OrderOut:
        return OrderOut(
            id=order.pk,
            customer_id=order.customer_id,
            order_number=order.order_number,
            purchased_at=order.purchased_at,
            delivered_at=order.delivered_at,
            currency=order.currency,
            lines=[
                OrderLineOut(
                    sku=line.product.sku,
                    name=line.product.name,
                    category=line.product.category,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                )
                for line in order.lines.select_related("product")
            ],
        )


class TimelineEventOut(ModelOut):
    id: int
    customer_id: int
    kind: str
    channel: str
    summary: str
    occurred_at: datetime
    subject_type: str
    subject_id: str


class TimelinePageOut(Schema):
    items: list[TimelineEventOut]
    next_cursor: str | None


class MergeIn(StrictIn):
    absorbed_id: int


class MergeOut(Schema):
    id: int
    survivor_id: int
    absorbed_id: int
    merged_at: datetime
    moved: dict[str, int]
    survivor_fields_filled: list[str]
    undone_at: datetime | None

    @staticmethod
    def from_model(merge: MergeRecord) -> MergeOut:
        return MergeOut(
            id=merge.pk,
            survivor_id=merge.survivor_id,
            absorbed_id=merge.absorbed_id,
            merged_at=merge.merged_at,
            moved={k: len(v) for k, v in merge.moved.items()},
            survivor_fields_filled=sorted(merge.survivor_fields_filled),
            undone_at=merge.undone_at,
        )
