"""Campaigns and the outbox: every outbound message is one row with one identity (invariant 3)."""

from __future__ import annotations

from django.db import models

from regard.customers.models import Customer


class Campaign(models.Model):
    """A one-off send to an audience (C3)."""

    class State(models.TextChoices):
        DRAFT = "draft"
        RUNNING = "running"
        PAUSED = "paused"  # by a person or by the anomaly brake (brake_reason says which)
        DONE = "done"
        CANCELLED = "cancelled"  # stopped by a person; what had not gone out is dropped

    name = models.CharField(max_length=200)
    purpose = models.CharField(max_length=32)
    channel = models.CharField(max_length=8, default="email")
    subject = models.CharField(max_length=300)
    body = models.TextField()
    # {"de": {"subject": ..., "body": ...}}: language variants chosen by the customer's language.
    variants = models.JSONField(default=dict, blank=True)
    topics = models.JSONField(default=list, blank=True)
    # AudienceRule fields, or {"customer_ids": [...]} for an explicit list.
    audience = models.JSONField(default=dict, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    planned_count = models.PositiveIntegerField(default=0)
    brake_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    launched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class OutboxMessage(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"  # due_at in the future with gate_reasons: held by the gate
        SENDING = "sending"  # claimed; the relay may or may not have it yet
        SENT = "sent"
        DROPPED = "dropped"  # the gate said no, with reasons
        HELD = "held"  # cannot be rendered (missing data) or sent (no sender): needs a person
        FAILED = "failed"  # permanent SMTP failure (5xx) or retries exhausted
        UNCERTAIN = "uncertain"  # the worker lost track after handing it over; never resent

    class Kind(models.TextChoices):
        MARKETING = "marketing"
        SERVICE = "service"

    dedupe_key = models.CharField(max_length=200, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="outbox_messages")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    purpose = models.CharField(max_length=32)
    channel = models.CharField(max_length=8, default="email")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    journey = models.CharField(max_length=64, blank=True)
    # Template texts for messages without a campaign (service messages, journey steps).
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True)
    topics = models.JSONField(default=list, blank=True)
    content_key = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True, db_index=True)
    to_address = models.CharField(max_length=320, blank=True)
    gate_outcome = models.CharField(max_length=8, blank=True)
    gate_reasons = models.JSONField(default=list, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # Counted and shown: the relay may have it although we never heard back.
    was_uncertain = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "due_at"], name="outbox_due"),
            models.Index(fields=["customer", "sent_at"], name="outbox_customer_sent"),
            models.Index(fields=["customer", "content_key"], name="outbox_customer_content"),
            models.Index(fields=["campaign", "state"], name="outbox_campaign_state"),
            # The dashboard's contact pressure and today's campaign sends (C6): what was sent
            # when, with what those figures group by, so PostgreSQL need not visit the rows.
            models.Index(
                fields=["sent_at"],
                include=["customer", "campaign", "journey", "kind"],
                condition=models.Q(state="sent"),
                name="outbox_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dedupe_key} ({self.state})"

    @property
    def is_marketing(self) -> bool:
        return self.kind == self.Kind.MARKETING


class InboundFeedback(models.Model):
    """Every mail `regard smtpd` accepted: bounces, complaints, unsubscribe mail.

    Kept even when it could not be understood, so nothing is dropped unseen: an admin
    finds it here with the reason (status, detail) and the raw message.
    """

    class Kind(models.TextChoices):
        BOUNCE = "bounce"  # delivery status notification at the VERP return path
        COMPLAINT = "complaint"  # ARF feedback report (RFC 5965)
        UNSUBSCRIBE = "unsubscribe"  # mail to the List-Unsubscribe mailto address
        UNKNOWN = "unknown"

    class Status(models.TextChoices):
        APPLIED = "applied"  # suppressed / withdrawn
        IGNORED = "ignored"  # understood, nothing to do (a temporary failure, already unsubscribed)
        UNMATCHED = "unmatched"  # understood, but names no message or person we know
        UNPARSEABLE = "unparseable"  # well-formed mail, but not feedback we can read

    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices)
    detail = models.CharField(max_length=500, blank=True)
    mail_from = models.CharField(max_length=320, blank=True)
    rcpt_to = models.CharField(max_length=320)
    outbox_message = models.ForeignKey(
        OutboxMessage, null=True, blank=True, on_delete=models.PROTECT, related_name="feedback"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="inbound_feedback"
    )
    raw = models.TextField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["kind", "status"], name="feedback_kind_status")]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} {self.received_at:%Y-%m-%d %H:%M}"


class Journey(models.Model):
    """Automated steps triggered by a customer event, e.g. an abandoned-cart reminder (C3, S19)."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    trigger = models.CharField(max_length=64)  # the event type that enrolls a customer
    exit_on = models.JSONField(default=list, blank=True)  # event types that end an enrollment
    purpose = models.CharField(max_length=32)
    channel = models.CharField(max_length=8, default="email")
    topics = models.JSONField(default=list, blank=True)
    # [{"wait_hours": 4, "subject": "...", "body": "..."}]: waits count from the previous step.
    steps = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    brake_reason = models.CharField(max_length=300, blank=True)
    # A customer who left or finished the journey enters it again only this long after (S19).
    reentry_cooldown_days = models.PositiveIntegerField(default=30)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class JourneyEnrollment(models.Model):
    """One customer in one journey at a time; a re-posted event never adds reminders (S19).

    After leaving or finishing, the customer may enter again once the journey's cool-down
    has passed, never twice for the same cart.
    """

    class State(models.TextChoices):
        ACTIVE = "active"
        LEFT = "left"  # purchase, withdrawal, complaint, merge: the remaining steps are dropped
        FINISHED = "finished"  # every step went out (or was decided by the gate)

    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="enrollments")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="journey_enrollments")
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    data = models.JSONField(default=dict, blank=True)  # the triggering event's data
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    left_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-entered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "customer"],
                condition=models.Q(state="active"),
                name="journey_enrollment_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.journey_id} ({self.state})"
