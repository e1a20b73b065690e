"""The support desk over HTTP (C4): conversations, messages, assignment, status, calls, webhooks.

Thin: selectors check the role and audit reads, services write. Every route declares the
capability it needs, so a wrong role gets 403 before the body is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from ninja import Field, Query, Router, Schema, Status

from regard.api.auth import ApiRequest, requires
from regard.customers.selectors import customer_get
from regard.inputs import BIGINT_MAX, OFFSET_MAX
from regard.privacy.roles import Capability
from regard.support import selectors, services, webhooks
from regard.support.models import Conversation, Message
from regard.support.schemas import (
    AssignIn,
    AttachmentOut,
    CallIn,
    ConversationDetailOut,
    ConversationIn,
    ConversationOut,
    ConversationPageOut,
    MessageIn,
    MessageOut,
    MessageWithAttachmentsOut,
    StatusIn,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
)

if TYPE_CHECKING:  # a type only: the customer comes from customers.selectors
    from regard.customers.models import Customer

conversations_router = Router(tags=["support"])
calls_router = Router(tags=["support"])
webhooks_router = Router(tags=["support"])


class ListQuery(Schema):
    status: str = ""
    channel: str = ""
    team: str = ""
    assignee: str = ""
    customer_id: int | None = Field(None, ge=1, le=BIGINT_MAX)
    limit: int = 50
    offset: int = Field(0, ge=0, le=OFFSET_MAX)


def _customer(request: ApiRequest, customer_id: int) -> Customer:
    # The conversation or call written next is audited by its service.
    return customer_get(
        actor=request.auth,
        customer_id=customer_id,
        capability=Capability.CONVERSATION_WRITE,
        audit_as=None,
        field="customer_id",
    )


def _detail(request: ApiRequest, conversation: Conversation) -> ConversationDetailOut:
    out = ConversationOut.from_model(conversation).model_dump()
    messages = [
        MessageWithAttachmentsOut(
            **MessageOut.from_model(m).model_dump(),
            attachments=[AttachmentOut.from_model(a) for a in m.attachments.all()],
        )
        for m in selectors.messages_of(conversation)
    ]
    return ConversationDetailOut(**out, messages=messages)


@conversations_router.get(
    "",
    auth=requires(Capability.CONVERSATION_READ),
    response=ConversationPageOut,
    summary="List conversations",
)
def list_conversations(request: ApiRequest, query: Query[ListQuery]) -> ConversationPageOut:
    filters = selectors.ConversationFilters(
        status=query.status,
        channel=query.channel,
        team=query.team,
        assignee=query.assignee,
        customer_id=query.customer_id,
    )
    page = selectors.conversation_list(
        actor=request.auth, filters=filters, limit=query.limit, offset=query.offset, via="api"
    )
    return ConversationPageOut(
        items=[ConversationOut.from_model(c) for c in page.conversations],
        total=page.total,
        next_offset=page.next_offset,
    )


@conversations_router.post(
    "",
    auth=requires(Capability.CONVERSATION_WRITE),
    response={201: ConversationDetailOut},
    summary="Open a conversation (for a customer by id, or by email/phone), optionally with the customer's first message",
)
def create_conversation(request: ApiRequest, payload: ConversationIn) -> Status[ConversationDetailOut]:
    with transaction.atomic():  # a refused conversation leaves no new profile behind
        return Status(201, _create(request, payload))


def _create(request: ApiRequest, payload: ConversationIn) -> ConversationDetailOut:
    team = selectors.team_get(slug=payload.team)
    if payload.customer_id is not None:
        customer = _customer(request, payload.customer_id)
    else:
        customer = services.customer_for_contact(
            email=payload.email, phone=payload.phone, name=payload.name, via="api", actor=request.auth
        )
    conversation = services.conversation_open(
        customer=customer,
        channel=payload.channel,
        kind=payload.kind,
        priority=payload.priority,
        subject=payload.subject,
        team=team,
        actor=request.auth,
        via="api",
    )
    if payload.message.strip():
        services.message_receive(
            conversation=conversation, body_text=payload.message.strip(), sender_address=payload.email
        )
    conversation = selectors.conversation_get(actor=request.auth, conversation_id=conversation.pk, via="api")
    return _detail(request, conversation)


@conversations_router.get(
    "/{conversation_id}",
    auth=requires(Capability.CONVERSATION_READ),
    response=ConversationDetailOut,
    summary="A conversation with its messages, notes and attachments",
)
def get_conversation(request: ApiRequest, conversation_id: int) -> ConversationDetailOut:
    conversation = selectors.conversation_get(actor=request.auth, conversation_id=conversation_id, via="api")
    return _detail(request, conversation)


@conversations_router.post(
    "/{conversation_id}/messages",
    auth=requires(Capability.CONVERSATION_WRITE),
    response={201: MessageOut},
    summary="Post an agent's reply (after the reply check; override to send anyway) or an internal note",
)
def post_message(request: ApiRequest, conversation_id: int, payload: MessageIn) -> Status[MessageOut]:
    conversation = selectors.conversation_for_write(actor=request.auth, conversation_id=conversation_id)
    message: Message
    if payload.type == "reply":
        message = services.reply_send(
            actor=request.auth,
            conversation=conversation,
            body_text=payload.body,
            override=payload.override,
            via="api",
        )
    else:
        message = services.note_add(
            actor=request.auth, conversation=conversation, body_text=payload.body, via="api"
        )
    return Status(201, MessageOut.from_model(message))


@conversations_router.post(
    "/{conversation_id}/assign",
    auth=requires(Capability.CONVERSATION_WRITE),
    response=ConversationOut,
    summary="Assign to an agent (by username; null for nobody) and optionally a team",
)
def assign_conversation(request: ApiRequest, conversation_id: int, payload: AssignIn) -> ConversationOut:
    conversation = selectors.conversation_for_write(actor=request.auth, conversation_id=conversation_id)
    assignee = selectors.assignee_get(username=payload.assignee)
    team = selectors.team_get(slug=payload.team)
    conversation = services.conversation_assign(
        actor=request.auth, conversation=conversation, assignee=assignee, team=team, via="api"
    )
    return ConversationOut.from_model(conversation)


@conversations_router.post(
    "/{conversation_id}/status",
    auth=requires(Capability.CONVERSATION_WRITE),
    response=ConversationOut,
    summary="Change the status (new, open, waiting, resolved, closed), optionally with an outcome",
)
def set_status(request: ApiRequest, conversation_id: int, payload: StatusIn) -> ConversationOut:
    conversation = selectors.conversation_for_write(actor=request.auth, conversation_id=conversation_id)
    conversation = services.conversation_set_status(
        actor=request.auth,
        conversation=conversation,
        status=payload.status,
        outcome=payload.outcome,
        via="api",
    )
    return ConversationOut.from_model(conversation)


@calls_router.post(
    "",
    auth=requires(Capability.CONVERSATION_WRITE),
    response={201: ConversationOut},
    summary="Log a phone call (the caller's number finds the customer)",
)
def log_call(request: ApiRequest, payload: CallIn) -> Status[ConversationOut]:
    customer = _customer(request, payload.customer_id) if payload.customer_id is not None else None
    conversation = services.call_log(
        actor=request.auth,
        customer=customer,
        team=selectors.team_get(slug=payload.team),
        **payload.model_dump(exclude={"customer_id", "team"}),
        via="api",
    )
    return Status(201, ConversationOut.from_model(conversation))


@webhooks_router.get(
    "", auth=requires(Capability.SUPPORT_ADMIN), response=list[WebhookOut], summary="Webhook endpoints"
)
def list_webhooks(request: ApiRequest) -> list[WebhookOut]:
    return [WebhookOut.from_model(e) for e in selectors.webhook_endpoints(actor=request.auth)]


@webhooks_router.post(
    "",
    auth=requires(Capability.SUPPORT_ADMIN),
    response={201: WebhookCreatedOut},
    summary="Add a webhook endpoint; the signing secret is shown once",
)
def create_webhook(request: ApiRequest, payload: WebhookIn) -> Status[WebhookCreatedOut]:
    endpoint = webhooks.endpoint_create(
        actor=request.auth, url=payload.url, events=payload.events or None, secret=payload.secret, via="api"
    )
    return Status(201, WebhookCreatedOut.from_model(endpoint))
