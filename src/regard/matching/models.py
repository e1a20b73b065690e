"""Trained models, candidate pairs, batch runs and the admin's matching settings (C1)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class MatchModel(models.Model):
    """One trained Fellegi–Sunter parameter set; the highest version is the one in use."""

    version = models.PositiveIntegerField(unique=True)
    parameters = models.JSONField()
    seed = models.BigIntegerField()
    trained_at = models.DateTimeField()
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"match model v{self.version}"


class MatchRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    model = models.ForeignKey(
        MatchModel, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress = models.FloatField(default=0.0, help_text="0–1")
    customers_seen = models.PositiveIntegerField(default=0)
    pairs_compared = models.PositiveBigIntegerField(default=0)
    candidates_found = models.PositiveIntegerField(default=0)
    candidates_new = models.PositiveIntegerField(default=0)
    auto_merged = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"match run {self.pk} ({self.status})"


class MatchCandidate(models.Model):
    """Two profiles that look like one person, with why; one row per unordered pair, ever."""

    class Status(models.TextChoices):
        PROPOSED = "proposed"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    # Always low id first, so the pair is unordered and unique (a decided pair never returns).
    customer_low = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    customer_high = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    probability = models.FloatField()
    match_weight = models.FloatField()
    explanation = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    model = models.ForeignKey(MatchModel, null=True, on_delete=models.PROTECT, related_name="candidates")
    run = models.ForeignKey(MatchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=16, default="batch", help_text="batch or incremental")
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    merge = models.ForeignKey(
        "customers.MergeRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-probability", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer_low", "customer_high"], name="match_candidate_pair_once"
            ),
            models.CheckConstraint(
                condition=Q(customer_low__lt=F("customer_high")), name="match_candidate_low_first"
            ),
        ]
        indexes = [models.Index(fields=["status", "-probability"], name="match_candidate_queue")]

    def __str__(self) -> str:
        return f"{self.customer_low_id} ~ {self.customer_high_id} ({self.probability:.3f})"


class MatchKey(models.Model):
    """The blocking index: one row per (blocking key hash, customer), for incremental lookups."""

    key_hash = models.BigIntegerField()
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["key_hash", "customer"], name="match_key_lookup")]

    def __str__(self) -> str:
        return f"{self.key_hash} → {self.customer_id}"


class MatchSettings(models.Model):
    """The admin's choices (one row). Automatic merging is off until an admin sets a threshold."""

    review_threshold = models.FloatField(
        default=0.8, help_text="Pairs at or above this match probability go to the review queue."
    )
    auto_merge_threshold = models.FloatField(
        null=True,
        blank=True,
        help_text="Merge automatically at or above this probability (every merge stays undoable). "
        "Empty = never merge automatically.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "matching settings"
        verbose_name_plural = "matching settings"

    def __str__(self) -> str:
        return "matching settings"
