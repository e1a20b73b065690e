"""The exceptions registry (C5, S11): out-of-policy requests, grouped until someone decides."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from regard.customers.models import Customer


class ExceptionGroup(models.Model):
    """Requests alike enough to be one question the company has to answer once."""

    class State(models.TextChoices):
        UNDECIDED = "undecided"
        ADOPTED = "adopted"
        DECLINED = "declined"

    label = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.UNDECIDED)
    # Exceptions counted (not those covered by an adopted decision); kept by the services.
    member_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    threshold_reached_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_due_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Adopted: the new or changed remedy policy or rule, as a reference until it is a foreign key.
    adopted_policy_ref = models.CharField(max_length=300, blank=True)
    adopted_rule = models.TextField(blank=True)
    # Declined: the honest standard answer per language ({"en": "...", "de": "..."}), offered to agents.
    declined_answers = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-member_count", "id"]
        indexes = [models.Index(fields=["state", "decision_due_at"], name="exc_group_state_due")]

    def __str__(self) -> str:
        return f"{self.label} ({self.member_count}, {self.state})"

    def answer_in(self, language: str) -> str:
        """The standard answer in ``language`` (its primary subtag), else English."""
        primary = (language or "en").split("-")[0].lower()
        answers = self.declined_answers or {}
        return str(answers.get(primary) or answers.get("en") or "")


class ExceptionEntry(models.Model):
    """One request outside policy: the customer's words and what was done about it."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="exceptions")
    conversation = models.ForeignKey(
        "support.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_text = models.TextField()
    action_taken = models.CharField(max_length=500, blank=True)
    category = models.CharField(max_length=80, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    logged_at = models.DateTimeField()
    group = models.ForeignKey(ExceptionGroup, on_delete=models.PROTECT, related_name="members")
    similarity = models.FloatField(null=True, blank=True)
    # Matched a group whose decision was "adopt": policy now, not counted as an exception.
    is_covered_by_decision = models.BooleanField(default=False)
    # Stands for its group when new requests are compared (first members, and agents' moves).
    is_exemplar = models.BooleanField(default=False)
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-logged_at", "-id"]
        indexes = [
            models.Index(fields=["group", "logged_at"], name="exc_entry_group_time"),
            models.Index(fields=["is_exemplar"], name="exc_entry_exemplar"),
            models.Index(fields=["customer", "-logged_at"], name="exc_entry_customer"),
        ]

    def __str__(self) -> str:
        return self.request_text[:60]
