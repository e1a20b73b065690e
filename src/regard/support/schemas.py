"""Request and response shapes of the support API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from regard.api.schemas import ModelOut


class ConversationOut(ModelOut):
    id: int
    token: str
    customer_id: int
    channel: str
    kind: str
    priority: str
    status: str
    subject: str
    team: str | None = Field(None, validation_alias="team.slug")
    assignee: str | None = Field(None, validation_alias="assignee.username")
    language: str
    outcome: str
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    last_customer_message_at: datetime | None
    last_agent_message_at: datetime | None
    awaiting_reply_since: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    handoff_count: int
    customer_message_count: int
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_breached_at: datetime | None
    wants_human: bool


class AttachmentOut(ModelOut):
    id: int
    filename: str
    content_type: str
    size: int


class MessageOut(ModelOut):
    id: int
    direction: str
    author: str | None = Field(None, validation_alias="author.username")
    sender_address: str
    body_text: str
    parse_error: str
    message_id: str
    in_reply_to: str
    references: list[str]
    auth_results: dict[str, Any]
    is_automated: bool
    reply_check: dict[str, Any]
    outbox_state: str | None = Field(None, validation_alias="outbox_message.state")
    created_at: datetime


class MessageWithAttachmentsOut(MessageOut):
    attachments: list[AttachmentOut]


class ConversationDetailOut(ConversationOut):
    messages: list[MessageWithAttachmentsOut]


class ConversationPageOut(Schema):
    items: list[ConversationOut]
    total: int
    next_offset: int | None


class ConversationIn(Schema):
    customer_id: int | None = None
    email: str = ""
    phone: str = ""
    name: str = ""
    channel: Literal["email", "chat", "phone", "form"] = "email"
    kind: str = "question"
    priority: str = "normal"
    subject: str = ""
    team: str = ""
    message: str = ""


class MessageIn(Schema):
    type: Literal["reply", "note"]
    body: str
    override: bool = False


class AssignIn(Schema):
    assignee: str | None = None
    team: str | None = None


class StatusIn(Schema):
    status: str
    outcome: str | None = None


class CallIn(Schema):
    phone: str = ""
    customer_id: int | None = None
    name: str = ""
    notes: str
    outcome: str = ""
    kind: str = "question"
    status: str = "resolved"
    direction: str = "in"
    team: str = ""


class WebhookIn(Schema):
    url: str
    events: list[str] = Field(default_factory=list)
    secret: str = ""


class WebhookOut(ModelOut):
    id: int
    url: str
    events: list[str]
    active: bool


class WebhookCreatedOut(WebhookOut):
    secret: str
