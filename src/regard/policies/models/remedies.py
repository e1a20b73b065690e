"""Remedy policies per product category, the legal minimum per country, and remedies granted (C5, S10)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from regard.customers.models import Customer, OrderLine


class RemedyKind(models.TextChoices):
    REPLACEMENT = "replacement"
    REFUND = "refund"
    REPAIR = "repair"
    CREDIT = "credit"
    GOODWILL = "goodwill"
    OTHER = "other"


class RemedyPolicy(models.Model):
    """What a product category (optionally one SKU, one country) entitles a customer to.

    The terms live in versions: a change writes a new version, and whatever was decided
    under an old one keeps pointing at it.
    """

    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, db_index=True)
    sku = models.CharField(max_length=64, blank=True)  # "" = every product of the category
    country = models.CharField(max_length=2, blank=True)  # "" = every country
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["category", "sku", "country", "id"]
        constraints = [
            models.UniqueConstraint(fields=["category", "sku", "country"], name="remedy_policy_scope_unique")
        ]

    def __str__(self) -> str:
        return self.name


class RemedyPolicyVersion(models.Model):
    """The terms of a policy as they stood from ``created_at``; never changed afterwards."""

    policy = models.ForeignKey(RemedyPolicy, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    # [{"from_day": 0, "to_day": 40, "remedies": [{"kind": "replacement"}, ...]}, ...], days from
    # purchase or delivery (``counted_from``).
    windows = models.JSONField()
    # {"en": "...", "de": "..."}: what the customer is told, honestly, in their language.
    wording = models.JSONField(default=dict)
    # The day the windows count from: the purchase, or the delivery when the order has one.
    counted_from = models.CharField(
        max_length=8, choices=[("purchase", "purchase"), ("delivery", "delivery")], default="purchase"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["policy", "-number"]
        constraints = [models.UniqueConstraint(fields=["policy", "number"], name="remedy_version_unique")]

    def __str__(self) -> str:
        return f"{self.policy.name} v{self.number}"


class StatutoryGuarantee(models.Model):
    """The legal minimum in a country (e.g. the EU's two-year legal guarantee); it outranks a shorter policy."""

    country = models.CharField(max_length=2, unique=True)
    label = models.CharField(max_length=100)  # "EU legal guarantee"
    months = models.PositiveSmallIntegerField()
    remedies = models.JSONField(default=list)  # ["repair", "replacement"]
    wording = models.JSONField(default=dict)

    class Meta:
        ordering = ["country"]

    def __str__(self) -> str:
        return f"{self.country}: {self.label} ({self.months} months)"


class RemedyGrant(models.Model):
    """A remedy given to a customer: under which policy version, or as an exception (S10, S11)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="remedy_grants")
    conversation = models.ForeignKey(
        "support.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="remedy_grants"
    )
    order_line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="remedy_grants"
    )
    kind = models.CharField(max_length=12, choices=RemedyKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    policy_version = models.ForeignKey(
        RemedyPolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="grants"
    )
    # Outside what the policy (or the law) allows: the request in the customer's words is kept.
    is_exception = models.BooleanField(default=False)
    request_text = models.CharField(max_length=1000, blank=True)
    note = models.CharField(max_length=1000, blank=True)
    # The evaluation the agent acted on, as it read then (a later policy change does not rewrite it).
    evaluation = models.JSONField(default=dict)
    promise = models.ForeignKey(
        "policies.Promise", null=True, blank=True, on_delete=models.SET_NULL, related_name="remedy_grants"
    )
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()

    class Meta:
        ordering = ["-granted_at", "-id"]
        indexes = [models.Index(fields=["customer", "-granted_at"], name="remedy_grant_customer_recent")]

    def __str__(self) -> str:
        amount = f" {self.amount} {self.currency}" if self.amount is not None else ""
        return f"{self.get_kind_display()}{amount} for customer {self.customer_id}"
