"""Promises made to a customer, tracked until kept, broken or withdrawn (C5, S22)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from regard.customers.models import Customer


class Promise(models.Model):
    class Kind(models.TextChoices):
        CALLBACK = "callback"
        SHIPMENT = "shipment"
        REFUND = "refund"
        CREDIT = "credit"
        FOLLOW_UP = "follow_up"
        OTHER = "other"

    class State(models.TextChoices):
        OPEN = "open"
        KEPT = "kept"
        BROKEN = "broken"
        WITHDRAWN = "withdrawn"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="promises")
    conversation = models.ForeignKey(
        "support.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="promises"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    what = models.CharField(max_length=500)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="promises")
    team = models.ForeignKey(
        "support.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="promises"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    due_at = models.DateTimeField()
    # "within N working days" as the agent said it; due_at is computed from it on the team's calendar.
    due_working_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Where the promise came from: an agent, the API, a granted remedy, the reply check.
    source = models.CharField(max_length=16, default="agent")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # How it was settled, in words: "callback logged at 10:12", "due time passed", the withdrawal message.
    settlement_note = models.CharField(max_length=500, blank=True)
    # A withdrawal is only said to the customer: the message that said it.
    settlement_message = models.ForeignKey(
        "support.Message", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["state", "due_at"], name="promise_state_due"),
            models.Index(fields=["customer", "-created_at"], name="promise_customer_recent"),
            models.Index(fields=["owner", "state"], name="promise_owner_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.what} (due {self.due_at:%Y-%m-%d %H:%M})"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN
