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


# --- the dashboard's daily rollups (C6, issue 12 §4) ------------------------------------------
#
# Rebuilt from the records by `insights.services.rollups`, never counted up as things happen,
# so they cannot drift: a day is replaced as a whole. Days are UTC dates; today is rolled up
# to the moment it was built. What a rollup does not cover is read from the records.


class RollupDay(models.Model):
    """A day whose rollups are built: the dashboard reads it from the rollups, not the records."""

    day = models.DateField(unique=True)
    built_at = models.DateTimeField()
    # What the rollups cover: the whole day (the next midnight), or today up to when it was built.
    covered_until = models.DateTimeField()
    # For the last days (today among them): the contact pressure of the week before
    # covered_until and the retention of the default period ending then, which a period
    # ending a little later is brought up to date from ({} for older days).
    standing = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} (built {self.built_at:%Y-%m-%d %H:%M})"


class ServiceDay(models.Model):
    """The conversations opened on a day, by channel, team and (team-local) ISO week."""

    day = models.DateField()
    channel = models.CharField(max_length=8)
    team = models.ForeignKey(
        "support.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    week = models.CharField(max_length=8)  # "2026-W45" in the team's zone, as the dashboard groups
    conversations = models.PositiveIntegerField(default=0)
    complaints = models.PositiveIntegerField(default=0)
    # Waits in working time: how many, their sum in whole working seconds, and how many fell
    # in each bucket of `insights.buckets` ({"12": 3, ...}) for p50/p90.
    first_responses = models.PositiveIntegerField(default=0)
    first_response_seconds = models.BigIntegerField(default=0)
    first_response_buckets = models.JSONField(default=dict)
    resolutions = models.PositiveIntegerField(default=0)
    resolution_seconds = models.BigIntegerField(default=0)
    resolution_buckets = models.JSONField(default=dict)
    sla_met = models.PositiveIntegerField(default=0)
    sla_missed = models.PositiveIntegerField(default=0)
    # Targets not reached yet when the day was built, as due times (µs since the epoch): whether
    # one counts as missed depends on the end of the period asked.
    sla_open_due = models.JSONField(default=list)
    surveys_sent = models.PositiveIntegerField(default=0)
    surveys_answered = models.PositiveIntegerField(default=0)
    score_sum = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "channel"], name="rollup_service_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.team_id or '-'}: {self.conversations}"


class CampaignDay(models.Model):
    """Per campaign and day: messages sent, unsubscribes and spam complaints they brought."""

    day = models.DateField()
    campaign = models.ForeignKey("outreach.Campaign", on_delete=models.CASCADE, related_name="+")
    sent = models.PositiveIntegerField(default=0)
    unsubscribes = models.PositiveIntegerField(default=0)
    spam_complaints = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "campaign"], name="rollup_campaign_day_once")]

    def __str__(self) -> str:
        return f"{self.day} campaign {self.campaign_id}: {self.sent}"


class PressureDay(models.Model):
    """Contact pressure over the 7 days that end with this day (UTC): per-customer message counts.

    Only for days that are over: a week that ends now is counted from the outbox."""

    day = models.DateField(unique=True)
    # {"messages": customers}: how many customers got exactly that many messages in the week.
    distribution = models.JSONField(default=dict)
    by_campaign = models.PositiveIntegerField(default=0)
    by_journey = models.PositiveIntegerField(default=0)
    by_service = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"pressure for the week to {self.day}"
