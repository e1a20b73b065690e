from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext

from regard.customers.ownership import REDACTED

# Honorifics written after the family name, without a space: 佐藤様, not 様 佐藤 (S7).
HONORIFICS_AFTER_THE_NAME = frozenset({"様", "さま", "さん", "殿", "先生", "氏", "님", "씨", "女士"})


class Customer(models.Model):
    """One person, whatever channel they use (C1)."""

    class Formality(models.TextChoices):
        # S7: how the person asked to be addressed; never guessed from given_name.
        INFORMAL = "informal", "Informal, by preferred name"
        FORMAL = "formal", "Formal, with salutation and family name"
        NEUTRAL = "neutral", "Neutral, without a name"

    preferred_name = models.CharField(max_length=200, blank=True)
    formality = models.CharField(max_length=10, choices=Formality.choices, default=Formality.NEUTRAL)
    salutation = models.CharField(max_length=40, blank=True, help_text="e.g. Ms, Mr, Mx, Dr, Frau")
    given_name = models.CharField(max_length=200, blank=True)
    family_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    street = models.CharField(max_length=300, blank=True)
    locality = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    region = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True)
    language = models.CharField(max_length=35, default="en")
    time_zone = models.CharField(max_length=64, default="UTC")
    search_text = models.CharField(max_length=700, blank=True, db_index=True, editable=False)
    source = models.CharField(max_length=32, default="api")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="absorbed_customers"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Art. 17: set when the person was erased; the row stays as a shell the append-only
    # timeline and consent ledger still point at, with every personal field blanked.
    erased_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = " ".join(p for p in (self.given_name, self.family_name) if p)
        return self.preferred_name or full or f"Customer {self.pk}"

    @property
    def greeting(self) -> str:
        """The greeting the person asked for; neutral when we do not know (S7).

        In the active language (catalogues in customers/locale): callers that write to the
        customer activate the customer's language first (``outreach.render.customer_context``).
        """
        if self.formality == self.Formality.INFORMAL and self.preferred_name:
            return gettext("Hi %(name)s") % {"name": self.preferred_name}
        if self.formality == self.Formality.FORMAL:
            if self.salutation and self.family_name:
                if self.salutation in HONORIFICS_AFTER_THE_NAME:
                    return gettext("Dear %(family_name)s%(salutation)s") % {
                        "salutation": self.salutation,
                        "family_name": self.family_name,
                    }
                return gettext("Dear %(salutation)s %(family_name)s") % {
                    "salutation": self.salutation,
                    "family_name": self.family_name,
                }
            if self.preferred_name:
                return gettext("Dear %(name)s") % {"name": self.preferred_name}
        return gettext("Hello")


class Identifier(models.Model):
    """Anything that points at one person: an email, a phone, an account number (C1, S20)."""

    class Kind(models.TextChoices):
        EMAIL = "email"
        PHONE = "phone"
        CHAT = "chat"
        ACCOUNT = "account"
        ORDER = "order"
        SOCIAL = "social"
        EXTERNAL = "external"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value_raw = models.CharField(max_length=320)
    value_normalised = models.CharField(max_length=320)
    source = models.CharField(max_length=32, default="api")
    first_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value_normalised"], name="identifier_unique_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value_normalised}"


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=300)
    category = models.CharField(max_length=100, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    order_number = models.CharField(max_length=64, unique=True)
    purchased_at = models.DateTimeField()
    # When the goods reached the customer; a remedy policy may count its windows from it (C5).
    delivered_at = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    source = models.CharField(max_length=32, default="api")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-purchased_at", "-id"]
        indexes = [models.Index(fields=["customer", "-purchased_at"], name="order_customer_recent")]

    def __str__(self) -> str:
        return self.order_number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product.sku}"


# What a redacted text column of an append-only row holds (the database triggers check it).
REDACTION_MARK = REDACTED


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError(f"{self.model.__name__} is append-only; rows cannot be updated")

    def delete(self) -> NoReturn:
        raise TypeError(f"{self.model.__name__} is append-only; rows cannot be deleted")

    def redact(self, *, now: datetime) -> int:
        """Art. 17: blank the personal columns of these rows, once; the rows themselves stay.

        The one UPDATE the timeline's triggers allow (customers migration 0004): summary set to
        the mark, data to {}, redacted_at from NULL to a time, every other column unchanged.
        """
        pending = self.filter(redacted_at__isnull=True)
        return models.QuerySet.update(pending, summary=REDACTION_MARK, data={}, redacted_at=now)


class TimelineEvent(models.Model):
    """One thing that happened with a customer, on any channel (C1, S23).

    Append-only (invariant 4): the model refuses updates and deletes, and database
    triggers (migration 0002) refuse them for any other writer too.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="timeline")
    kind = models.CharField(max_length=64)
    channel = models.CharField(max_length=32, blank=True)
    summary = models.CharField(max_length=500)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Art. 17: when summary and data were redacted (the only change the triggers allow).
    redacted_at = models.DateTimeField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "-occurred_at", "-id"], name="timeline_customer_recent")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.kind}: {self.summary}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("TimelineEvent is append-only; rows cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("TimelineEvent is append-only; rows cannot be deleted")


class MergeRecord(models.Model):
    """A merge of two profiles, with everything needed to undo it exactly (invariant 5)."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_survived")
    absorbed = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_absorbed")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField()
    # {"<app.model>.<field>": [primary keys moved from absorbed to survivor]}
    moved = models.JSONField(default=dict)
    # {"field": [value before, value after]} for blanks on the survivor filled from the absorbed.
    survivor_fields_filled = models.JSONField(default=dict)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"merge {self.absorbed_id} → {self.survivor_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None
