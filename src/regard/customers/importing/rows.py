"""Reading and validating CSV rows for `regard import` (C1, C8), without touching the database.

Validation is the API's own: ``services.clean_profile`` for profile fields and
``normalise`` for identifiers, so the import accepts exactly what the API accepts.
These functions are pure, so the importer can run them in worker processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple

from django.utils import timezone

from regard.customers import normalise
from regard.customers.models import Customer
from regard.customers.services import PROFILE_FIELDS, OrderLineInput, clean_profile, order_clean
from regard.errors import InvalidInput, RegardError
from regard.inputs import is_whole_number

IDENTIFIER_COLUMNS = ("email", "phone", "account", "external", "social", "chat")
CUSTOMER_COLUMNS = (*PROFILE_FIELDS, *IDENTIFIER_COLUMNS)
CUSTOMER_REF_COLUMNS = ("customer_id", "customer_email", "customer_phone", "customer_account")
ORDER_REQUIRED_COLUMNS = ("order_number", "purchased_at", "currency", "sku", "quantity", "unit_price")
ORDER_COLUMNS = (*ORDER_REQUIRED_COLUMNS, "product_name", "category", *CUSTOMER_REF_COLUMNS)
VALUE_SEPARATOR = ";"
MAX_QUANTITY = 2_147_483_647  # OrderLine.quantity is a 32-bit integer column
_PROFILE_DEFAULTS = {
    f.name: f.get_default() for f in Customer._meta.concrete_fields if f.name in PROFILE_FIELDS
}


class RowError(NamedTuple):
    line: int
    field: str
    message: str
    value: str


class CustomerRow(NamedTuple):
    line: int
    profile: tuple[Any, ...]  # in PROFILE_FIELDS order, model defaults filled in
    search_text: str
    identifiers: tuple[tuple[str, str, str], ...]  # (kind, raw, normalised), no repeats


@dataclass(frozen=True)
class Layout:
    """Where each known column sits in the file's rows."""

    columns: tuple[str, ...]

    def index(self, name: str) -> int | None:
        return self.columns.index(name) if name in self.columns else None


def layout_read(header: Sequence[str], *, known: Sequence[str], required: Iterable[str]) -> Layout:
    """Check a header row; raise InvalidInput naming the first problem (exit 1, nothing imported)."""
    columns = tuple(name.strip().lower() for name in header)
    for name in columns:
        if name not in known:
            raise InvalidInput(
                f"unknown column '{name}' (known columns: {', '.join(known)}).", field=name or "header"
            )
        if columns.count(name) > 1:
            raise InvalidInput(f"column '{name}' appears twice in the header.", field=name)
    for name in required:
        if name not in columns:
            raise InvalidInput(f"missing required column '{name}'.", field=name)
    return Layout(columns)


def customer_layout_read(header: Sequence[str]) -> Layout:
    layout = layout_read(header, known=CUSTOMER_COLUMNS, required=())
    if not any(name in layout.columns for name in IDENTIFIER_COLUMNS):
        raise InvalidInput(
            "missing required column: at least one identifier column "
            f"({', '.join(IDENTIFIER_COLUMNS)}) is needed to find customers again.",
            field="identifiers",
        )
    return layout


def order_layout_read(header: Sequence[str]) -> Layout:
    layout = layout_read(header, known=ORDER_COLUMNS, required=ORDER_REQUIRED_COLUMNS)
    if not any(name in layout.columns for name in CUSTOMER_REF_COLUMNS):
        raise InvalidInput(
            f"missing required column: one of {', '.join(CUSTOMER_REF_COLUMNS)} names the customer.",
            field="customer",
        )
    return layout


def _column_of(field: str | None) -> str:
    """API field names ("address.country") back to CSV column names ("country")."""
    return (field or "").removeprefix("address.")


# Fields with few distinct values and costlier checks; their verdicts are cached for the run.
_REPEATING_FIELDS = frozenset(
    {"formality", "salutation", "country", "language", "time_zone", "date_of_birth"}
)


@lru_cache(maxsize=1 << 16)
def _repeating_field_clean(name: str, value: str) -> Any:
    return clean_profile({name: value})[name]


def _profile_clean(profile: dict[str, str]) -> dict[str, Any]:
    """``clean_profile``, with the verdicts on repeating values (languages, zones) remembered."""
    cleaned = clean_profile({k: v for k, v in profile.items() if k not in _REPEATING_FIELDS})
    for name in _REPEATING_FIELDS.intersection(profile):
        cleaned[name] = _repeating_field_clean(name, profile[name])
    return cleaned


def _profile_errors(profile: dict[str, str], line: int) -> list[RowError]:
    errors = []
    for name, value in profile.items():
        try:
            clean_profile({name: value})
        except RegardError as error:
            column = _column_of(error.field) or name
            message = error.message.replace(error.field or column, column, 1)
            errors.append(RowError(line, column, message, value))
    return errors


def customer_row_clean(values: Sequence[str], *, line: int, layout: Layout) -> CustomerRow | list[RowError]:
    """One CSV row to a customer ready to insert, or every problem it has."""
    columns = layout.columns
    if len(values) > len(columns):
        return [RowError(line, "", f"row has {len(values)} cells, the header {len(columns)}.", "")]
    profile: dict[str, str] = {}
    identifiers: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    errors: list[RowError] = []
    for column, cell in zip(columns, values, strict=False):
        cell = cell.strip()
        if not cell:
            continue
        if column not in IDENTIFIER_COLUMNS:
            profile[column] = cell
            continue
        for part in cell.split(VALUE_SEPARATOR):
            part = part.strip()
            if not part:
                continue
            try:
                normalised = normalise.normalise_identifier(column, part, field=column)
            except RegardError as error:
                errors.append(RowError(line, column, error.message, part))
                continue
            if (column, normalised) not in seen:
                seen.add((column, normalised))
                identifiers.append((column, part[:320], normalised))
    try:
        cleaned = _profile_clean(profile)
    except RegardError:
        errors[:0] = _profile_errors(profile, line)
    if not identifiers and not errors:
        errors.append(
            RowError(
                line,
                "identifiers",
                f"a row needs at least one identifier ({', '.join(IDENTIFIER_COLUMNS)}).",
                "",
            )
        )
    if errors:
        return errors
    full = tuple(cleaned.get(name, _PROFILE_DEFAULTS[name]) for name in PROFILE_FIELDS)
    search_text = normalise.search_key(
        cleaned.get("preferred_name", ""), cleaned.get("given_name", ""), cleaned.get("family_name", "")
    )
    return CustomerRow(line, full, search_text, tuple(identifiers))


def customer_rows_clean(
    chunk: Sequence[tuple[int, Sequence[str]]], layout: Layout
) -> tuple[list[CustomerRow], list[RowError]]:
    """Validate a chunk of (line number, cells); runs in a worker process for large files."""
    good: list[CustomerRow] = []
    bad: list[RowError] = []
    for line, values in chunk:
        result = customer_row_clean(values, line=line, layout=layout)
        if isinstance(result, list):
            bad.extend(result)
        else:
            good.append(result)
    return good, bad


class CustomerRef(NamedTuple):
    """How an order row names its customer: by id or by a normalised identifier."""

    column: str
    kind: str  # "id" or an identifier kind
    value: str  # normalised
    raw: str


class OrderLineRow(NamedTuple):
    line: int
    order_number: str
    purchased_at: datetime
    currency: str
    refs: tuple[CustomerRef, ...]
    item: OrderLineInput


def _parse_datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"purchased_at: '{value}' is not an ISO 8601 date and time (e.g. 2025-03-01T14:30:00+01:00).",
            field="purchased_at",
        ) from None
    if timezone.is_naive(parsed):
        raise InvalidInput("purchased_at: must include a time zone offset.", field="purchased_at")
    return parsed


def _parse_quantity(value: str) -> int:
    if not is_whole_number(value, maximum=MAX_QUANTITY):
        raise InvalidInput(
            f"quantity: '{value}' is not a whole number up to {MAX_QUANTITY}.", field="quantity"
        )
    return int(value)


def _parse_price(value: str) -> Decimal:
    try:
        price = Decimal(value)
    except InvalidOperation:
        price = Decimal("NaN")
    if not price.is_finite():
        raise InvalidInput(f"unit_price: '{value}' is not a number (e.g. 19.99).", field="unit_price")
    return price


def _customer_refs(cells: dict[str, str]) -> tuple[CustomerRef, ...]:
    refs = []
    for column in CUSTOMER_REF_COLUMNS:
        raw = cells.get(column, "")
        if not raw:
            continue
        kind = column.removeprefix("customer_")
        if kind == "id":
            if not is_whole_number(raw):
                raise InvalidInput(f"customer_id: '{raw}' is not a customer id.", field=column)
            refs.append(CustomerRef(column, "id", str(int(raw)), raw))
        else:
            refs.append(
                CustomerRef(column, kind, normalise.normalise_identifier(kind, raw, field=column), raw)
            )
    if not refs:
        raise InvalidInput(
            f"customer: one of {', '.join(CUSTOMER_REF_COLUMNS)} must name the customer.", field="customer"
        )
    return tuple(refs)


def order_line_clean(values: Sequence[str], *, line: int, layout: Layout, now: datetime) -> OrderLineRow:
    """One order line, checked by the same rules as ``services.order_record``; raise on the first problem."""
    columns = layout.columns
    if len(values) > len(columns):
        raise InvalidInput(f"row has {len(values)} cells, the header {len(columns)}.", field="")
    cells = {column: cell.strip() for column, cell in zip(columns, values, strict=False)}
    for column in ORDER_REQUIRED_COLUMNS:
        if not cells.get(column):
            raise InvalidInput(f"{column}: must not be empty.", field=column)
    purchased_at = _parse_datetime(cells["purchased_at"])
    item = OrderLineInput(
        sku=cells["sku"],
        quantity=_parse_quantity(cells["quantity"]),
        unit_price=_parse_price(cells["unit_price"]),
        product_name=cells.get("product_name", "")[:300],
        category=cells.get("category", "")[:100],
    )
    try:
        number, currency = order_clean(
            order_number=cells["order_number"],
            purchased_at=purchased_at,
            currency=cells["currency"],
            lines=[item],
            now=now,
        )
    except RegardError as error:
        # "lines[0].quantity" is the row's "quantity" column.
        field = (error.field or "").rpartition(".")[2]
        raise InvalidInput(error.message.replace(error.field or "", field, 1), field=field) from None
    return OrderLineRow(line, number, purchased_at, currency, _customer_refs(cells), item)


def value_of(values: Sequence[str], layout: Layout, field: str) -> str:
    """The cell behind an error, for the error report."""
    index = layout.index(field)
    return values[index] if index is not None and index < len(values) else ""
