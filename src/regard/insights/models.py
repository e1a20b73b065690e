"""The recovery worklist: customers who just had a bad experience, until someone has put it right (C6, S24)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from regard.customers.models import Customer


class RecoveryItem(models.Model):
    class Trigger(models.TextChoices):
        PROMISE_BROKEN = "promise_broken"
        SLA_BREACH = "sla_breach"
        LOW_SATISFACTION = "low_satisfaction"
        COMPLAINT = "complaint"
        SPAM_COMPLAINT = "spam_complaint"
        UNSUBSCRIBED_AFTER_CONTACT = "unsubscribed"
        OVER_CONTACTED = "over_contacted"

    class State(models.TextChoices):
        OPEN = "open"
        CLAIMED = "claimed"
        CLOSED = "closed"

    class Action(models.TextChoices):
        APOLOGY = "apology"
        CALL = "call"
        CREDIT = "credit"
        PROMISE = "promise"
        OTHER = "other"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="recovery_items")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    # The record the trigger comes from ("policies.promise:12"): each is picked up once.
    source = models.CharField(max_length=80)
    reason = models.CharField(max_length=300)
    severity = models.PositiveSmallIntegerField()  # 1 (mild) … 5 (worst)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_due_at = models.DateTimeField()  # one working day after it was found
    escalated_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=8, choices=Action.choices, blank=True)
    note = models.CharField(max_length=1000, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-severity", "-occurred_at", "id"]
        constraints = [models.UniqueConstraint(fields=["trigger", "source"], name="recovery_trigger_once")]
        indexes = [models.Index(fields=["state", "-occurred_at"], name="recovery_state_recent")]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()}: {self.reason}"
