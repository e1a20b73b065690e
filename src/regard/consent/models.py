"""The consent ledger, the customer's own choices and the suppression list (C2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from django.db import models

from regard.customers.models import Customer


class Channel(models.TextChoices):
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    POST = "post"
    PUSH = "push"


class ConsentQuerySet(models.QuerySet):
    """Append-only (invariant 4). The one allowed change is a merge re-attributing
    events to the surviving profile: the fact recorded is never rewritten."""

    def update(self, **kwargs: Any) -> int:
        if set(kwargs) <= {"customer", "customer_id"}:
            return super().update(**kwargs)
        raise TypeError(f"{self.model.__name__} is append-only; rows cannot be updated")

    def delete(self) -> NoReturn:
        raise TypeError(f"{self.model.__name__} is append-only; rows cannot be deleted")

    def redact(self, *, now: datetime) -> int:
        """Art. 17: blank the proof of these rows, once; the fact recorded stays.

        The one other UPDATE the ledger's triggers allow (consent migration 0004): proof set
        to {} and redacted_at from NULL to a time, every other column unchanged.
        """
        pending = self.filter(redacted_at__isnull=True)
        return models.QuerySet.update(pending, proof={}, redacted_at=now)


class AppendOnly(models.Model):
    # Art. 17: when the personal columns (proof) were redacted.
    redacted_at = models.DateTimeField(null=True, blank=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} is append-only; rows cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} is append-only; rows cannot be deleted")


class ConsentEvent(AppendOnly):
    """One grant or withdrawal of consent for a purpose on a channel, with its proof."""

    class Action(models.TextChoices):
        GRANTED = "granted"
        WITHDRAWN = "withdrawn"

    class Source(models.TextChoices):
        FORM = "form"
        API = "api"
        IMPORT = "import"
        UNSUBSCRIBE_LINK = "unsubscribe_link"
        PREFERENCE_PAGE = "preference_page"
        COMPLAINT = "complaint"
        BOUNCE = "bounce"
        AGENT = "agent"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="consent_events")
    purpose = models.CharField(max_length=32)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    action = models.CharField(max_length=10, choices=Action.choices)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    # form_text_version, ip, user_agent, message_id, ... whatever shows it was the person.
    proof = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "occurred_at", "id"], name="consent_customer_time")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.action} {self.purpose}/{self.channel}"

    @property
    def is_granted(self) -> bool:
        return self.action == self.Action.GRANTED


class PreferenceChange(AppendOnly):
    """The customer's choices as set at one moment; the newest row is in force."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="preference_changes")
    # Empty list: no restriction on channels.
    channels = models.JSONField(default=list, blank=True)
    excluded_topics = models.JSONField(default=list, blank=True)
    # None: no limit of the customer's own (the company's caps still apply).
    max_messages_per_week = models.PositiveIntegerField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=20, choices=ConsentEvent.Source.choices)
    proof = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["customer", "recorded_at", "id"], name="preference_customer_time")]

    def __str__(self) -> str:
        return f"preferences of {self.customer_id} at {self.recorded_at:%Y-%m-%d %H:%M}"


class Suppression(models.Model):
    """Never contact this address again. Keyed by a hash so it outlives erasure (C7)."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce"
        COMPLAINT = "complaint"
        ERASED = "erased"
        MANUAL = "manual"

    # SHA-256 hex of the normalised identifier (lower-cased email, E.164 phone).
    identifier_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.identifier_hash[:12]}… ({self.reason})"


class MarketingOptOut(models.Model):
    """An address whose owner withdrew marketing consent for a purpose, as partners see it (S5).

    The gate reads the ledger itself; this is the ledger's answer for partners, who may only
    learn yes or no for a hash. Kept by the consent services: a withdrawal by email adds a
    row per address of the person, a fresh grant removes them.
    """

    identifier_hash = models.CharField(max_length=64)
    purpose = models.CharField(max_length=32)
    # A plain id, not a foreign key: the row is about the address and outlives a merge.
    customer_id = models.BigIntegerField(db_index=True)
    since = models.DateTimeField()

    class Meta:
        ordering = ["-since", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["identifier_hash", "purpose"], name="marketing_opt_out_unique")
        ]

    def __str__(self) -> str:
        return f"{self.identifier_hash[:12]}… opted out of {self.purpose}"
