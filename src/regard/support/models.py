"""The support desk: conversations shared by every channel, their messages, teams and SLAs (C4)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from regard.customers.models import Customer
from regard.outreach.models import OutboxMessage


def new_token() -> str:
    """A random, URL-safe conversation token: used in "[#token]" subjects and public links."""
    return secrets.token_hex(6)


def default_business_hours() -> dict[str, list[list[str]]]:
    weekday = [["09:00", "17:00"]]
    return {
        "mon": weekday,
        "tue": weekday,
        "wed": weekday,
        "thu": weekday,
        "fri": weekday,
        "sat": [],
        "sun": [],
    }


def default_time_zone() -> str:
    return str(settings.TIME_ZONE)


class Team(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    time_zone = models.CharField(max_length=64, default=default_time_zone)
    country = models.CharField(
        max_length=2, blank=True, help_text="ISO code for public holidays; blank = none"
    )
    # {"mon": [["09:00", "17:00"]], ..., "sat": [], "sun": []}
    business_hours = models.JSONField(default=default_business_hours, blank=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="support_teams")
    support_address = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Kind(models.TextChoices):
    QUESTION = "question"
    REQUEST = "request"
    COMPLAINT = "complaint"


class Priority(models.TextChoices):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class SlaPolicy(models.Model):
    """Targets in working minutes; the most specific policy for a conversation applies."""

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="sla_policies"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, blank=True)  # "" = any
    priority = models.CharField(max_length=8, choices=Priority.choices, blank=True)  # "" = any
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    warn_at_percent = models.PositiveSmallIntegerField(default=80)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        scope = self.team.name if self.team_id and self.team else "default"
        return f"{scope}: {self.kind or 'any kind'}, {self.priority or 'any priority'}"


class ChatSite(models.Model):
    """A website that embeds the chat widget (``data-key`` is ``key``)."""

    name = models.CharField(max_length=200)
    key = models.CharField(max_length=64, unique=True)
    secret = models.CharField(max_length=128)  # HMAC secret for signed identity tokens
    allowed_origins = models.JSONField(default=list, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_sites"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email"
        CHAT = "chat"
        PHONE = "phone"
        FORM = "form"

    Kind = Kind
    Priority = Priority

    class Status(models.TextChoices):
        NEW = "new"
        OPEN = "open"
        WAITING = "waiting"  # on the customer
        RESOLVED = "resolved"
        CLOSED = "closed"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="conversations")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.QUESTION)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.NEW)
    subject = models.CharField(max_length=300, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    token = models.CharField(max_length=32, unique=True, default=new_token)
    language = models.CharField(max_length=35, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_agent_message_at = models.DateTimeField(null=True, blank=True)
    awaiting_reply_since = models.DateTimeField(null=True, blank=True)  # a customer message not yet answered
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(default=0)
    handoff_count = models.PositiveIntegerField(default=0)
    customer_message_count = models.PositiveIntegerField(default=0)
    outcome = models.TextField(blank=True)  # e.g. how a phone call ended
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    sla_warned_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    # When the resolution target started counting: the opening, or the latest reopening.
    resolution_started_at = models.DateTimeField(null=True, blank=True)
    wants_human = models.BooleanField(default=False)
    queued_at = models.DateTimeField(null=True, blank=True)  # entered the human queue
    chat_site = models.ForeignKey(
        ChatSite, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-updated_at"], name="conversation_status_recent"),
            models.Index(fields=["customer", "-created_at"], name="conversation_customer_recent"),
            models.Index(fields=["assignee", "status"], name="conversation_assignee_status"),
            # The dashboard reads today and a period's partial days from here (C6).
            models.Index(fields=["created_at"], name="conversation_created"),
        ]

    def __str__(self) -> str:
        return f"[#{self.token}] {self.subject or self.channel}"

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.RESOLVED, self.Status.CLOSED)


class Message(models.Model):
    class Direction(models.TextChoices):
        IN = "in"  # from the customer
        OUT = "out"  # to the customer
        NOTE = "note"  # internal, never sent

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=4, choices=Direction.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender_address = models.CharField(max_length=320, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    raw = models.TextField(blank=True)  # the original mail, kept even when it cannot be parsed
    parse_error = models.CharField(max_length=500, blank=True)
    message_id = models.CharField(max_length=300, blank=True, db_index=True)
    in_reply_to = models.CharField(max_length=300, blank=True)
    references = models.JSONField(default=list, blank=True)
    auth_results = models.JSONField(default=dict, blank=True)  # {"spf": ..., "dkim": ..., "dmarc": ...}
    is_automated = models.BooleanField(default=False)
    outbox_message = models.ForeignKey(
        OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="support_messages"
    )
    # {"findings": [{"code", "message", "excerpt"}], "overridden": bool}
    reply_check = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at"], name="message_conversation_time")]

    def __str__(self) -> str:
        return f"{self.direction} {self.created_at:%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class SatisfactionSurvey(models.Model):
    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="survey")
    token = models.CharField(max_length=64, unique=True)
    outbox_message = models.ForeignKey(
        OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.PositiveSmallIntegerField(null=True, blank=True)  # 1–5
    comment = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"survey for {self.conversation_id}"


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128)
    events = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.state})"


class AgentPresence(models.Model):
    """An agent's open inbox page (one row per websocket): who is online to take a chat.

    Chat is offered only while someone is online; otherwise the widget offers email (C4).
    ``seen_at`` is refreshed by the page's heartbeat, so a crashed process's rows go stale
    instead of keeping an agent online forever.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.user_id} via {self.channel_name}"


class SlaAlert(models.Model):
    """A warning or a breach of one SLA target, once per target and cycle (C4, S14).

    A cycle is what the target measures from: the opening (first response), the customer
    message waiting for an answer (next response), the opening or reopening (resolution).
    The unique constraint makes a timer that fires twice, or a recomputed due time, alert once.
    """

    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response"
        NEXT_RESPONSE = "next_response"
        RESOLUTION = "resolution"

    class Stage(models.TextChoices):
        WARNING = "warning"
        BREACH = "breach"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="sla_alerts")
    target = models.CharField(max_length=16, choices=Target.choices)
    stage = models.CharField(max_length=8, choices=Stage.choices)
    cycle_started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "target", "stage", "cycle_started_at"],
                name="sla_alert_once_per_cycle",
            )
        ]

    def __str__(self) -> str:
        return f"{self.stage} of {self.target} on {self.conversation_id}"


class Notification(models.Model):
    """A note to one agent in the app: an SLA about to be missed, or missed (C4)."""

    class Kind(models.TextChoices):
        SLA_WARNING = "sla_warning"
        SLA_BREACH = "sla_breach"
        PROMISE_BROKEN = "promise_broken"  # S22, written by policies
        EXCEPTION_DUE = "exception_due"  # S11, written by policies: a group to decide
        RECOVERY_UNCLAIMED = "recovery"  # S24, written by insights: nobody took up a bad experience

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}: {self.text[:40]}"


class SavedReply(models.Model):
    """A saved answer agents start from; sent unchanged, the reply check points it out (S7)."""

    title = models.CharField(max_length=200)
    body = models.TextField()
    language = models.CharField(max_length=35, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="saved_replies"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["title", "id"]
        verbose_name_plural = "saved replies"

    def __str__(self) -> str:
        return self.title
