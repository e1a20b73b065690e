"""Reads of the support desk. Reads of personal data take the actor, check the role and are audited."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet

from regard.consent import selectors as consent_selectors
from regard.customers import selectors as customer_selectors
from regard.customers.models import Customer
from regard.customers.panels import Panel
from regard.errors import InvalidInput, NotFound, found
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record_reads
from regard.support.models import Attachment, Conversation, Message, Team, WebhookEndpoint
from regard.support.panels import sidebar_panels

MAX_LIMIT = 200


def _choice(value: str, choices: list[str], field: str) -> str:
    if value not in choices:
        raise InvalidInput(f"{field}: '{value}' is not one of {', '.join(choices)}.", field=field)
    return value


@dataclass(frozen=True)
class ConversationFilters:
    status: str = ""  # one status, or "active" (new, open, waiting) / "" (all)
    channel: str = ""
    team: str = ""  # team slug, or "none"
    assignee: str = ""  # username, "me" or "none"
    customer_id: int | None = None


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[Conversation]
    next_offset: int | None
    total: int


def conversations_query(*, actor: AnyUser, filters: ConversationFilters) -> QuerySet[Conversation]:
    access.require(actor, Capability.CONVERSATION_READ)
    rows = Conversation.objects.select_related("customer", "team", "assignee")
    if filters.status == "active":
        rows = rows.exclude(status__in=[Conversation.Status.RESOLVED, Conversation.Status.CLOSED])
    elif filters.status:
        rows = rows.filter(status=_choice(filters.status, list(Conversation.Status.values), "status"))
    if filters.channel:
        rows = rows.filter(channel=_choice(filters.channel, list(Conversation.Channel.values), "channel"))
    if filters.team == "none":
        rows = rows.filter(team__isnull=True)
    elif filters.team:
        team = Team.objects.filter(slug=filters.team).first()
        if team is None:
            raise InvalidInput(f"team: no team '{filters.team}'.", field="team")
        rows = rows.filter(team=team)
    if filters.assignee == "none":
        rows = rows.filter(assignee__isnull=True)
    elif filters.assignee == "me":
        rows = rows.filter(assignee=actor if isinstance(actor, User) else None)
    elif filters.assignee:
        user = User.objects.filter(username=filters.assignee).first()
        if user is None:
            raise InvalidInput(f"assignee: no user '{filters.assignee}'.", field="assignee")
        rows = rows.filter(assignee=user)
    if filters.customer_id is not None:
        group = customer_selectors.customer_group_ids(Customer(pk=filters.customer_id))
        rows = rows.filter(customer_id__in=group)
    return rows.order_by("-updated_at", "-id")


def conversation_list(
    *, actor: AnyUser, filters: ConversationFilters, limit: int = 50, offset: int = 0, via: str = "api"
) -> ConversationPage:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: must be between 1 and {MAX_LIMIT}.", field="limit")
    if offset < 0:
        raise InvalidInput("offset: must not be negative.", field="offset")
    rows = conversations_query(actor=actor, filters=filters)
    page = list(rows[offset : offset + limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    audit_record_reads(
        actor=actor, customer_ids=sorted({c.customer_id for c in page}), object_type="conversation", via=via
    )
    return ConversationPage(page, offset + limit if has_more else None, rows.count())


def conversation_get(*, actor: AnyUser, conversation_id: int, via: str = "api") -> Conversation:
    access.require(actor, Capability.CONVERSATION_READ)
    conversation = (
        Conversation.objects.select_related("customer", "team", "assignee").filter(pk=conversation_id).first()
    )
    if conversation is None:
        raise NotFound(f"No conversation with id {conversation_id}.", field="conversation_id")
    audit_record_reads(
        actor=actor, customer_ids=[conversation.customer_id], object_type="conversation", via=via
    )
    return conversation


def conversation_for_write(*, actor: AnyUser, conversation_id: int) -> Conversation:
    """The conversation a write is about; the write itself is audited by its service."""
    access.require(actor, Capability.CONVERSATION_WRITE)
    return found(
        Conversation.objects.select_related("customer", "team").filter(pk=conversation_id).first(),
        f"No conversation with id {conversation_id}.",
        field="conversation_id",
    )


def messages_of(conversation: Conversation) -> list[Message]:
    """The thread, oldest first, with attachments (metadata only) and authors."""
    return list(
        conversation.messages.select_related("author")
        .prefetch_related("attachments")
        .defer("attachments__data")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class CustomerBeside:
    """What the agent sees beside a conversation: the customer first (C4, S10, S20)."""

    # Only what the sidebar shows: the timeline and Customer 360's panels are a link away.
    view: customer_selectors.CustomerAtAGlance
    earlier: list[Conversation]
    consent_line: str
    # Panels other apps registered in support.panels (entitlements, promises, the mirror).
    panels: list[Panel] = field(default_factory=list)


def consent_line(customer: Customer) -> str:
    current = consent_selectors.consent_current([customer.pk]).get(customer.pk, {})
    if not current:
        return "No consent on record: service messages only."
    parts = [
        f"{purpose} by {channel}: {'yes' if event.is_granted else 'no'}"
        for (purpose, channel), event in sorted(current.items())
    ]
    return "; ".join(parts)


def customer_beside(*, actor: AnyUser, conversation: Conversation, via: str = "web") -> CustomerBeside:
    access.require(actor, Capability.CONVERSATION_READ)
    view = customer_selectors.customer_at_a_glance(
        actor=actor,
        customer_id=conversation.customer_id,
        via=via,
        sections=["profile", "identifiers", "orders", "consent", "conversations"],
    )
    group = customer_selectors.customer_group_ids(view.customer)
    earlier = list(
        Conversation.objects.filter(customer_id__in=group)
        .exclude(pk=conversation.pk)
        .order_by("-created_at")[:20]
    )
    return CustomerBeside(
        view=view,
        earlier=earlier,
        consent_line=consent_line(view.customer),
        panels=sidebar_panels(actor=actor, conversation=conversation, group=group),
    )


def team_get(*, slug: str | None, field: str = "team") -> Team | None:
    """The team a form or request names by slug (none when blank); a slug nobody has is bad input."""
    if not slug:
        return None
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise InvalidInput(f"{field}: no team '{slug}'.", field=field)
    return team


def assignee_get(*, username: str | None, field: str = "assignee") -> User | None:
    """The active user a conversation is assigned to by username (nobody when blank)."""
    if not username:
        return None
    assignee = User.objects.filter(username=username, is_active=True).first()
    if assignee is None:
        raise InvalidInput(f"{field}: no active user '{username}'.", field=field)
    return assignee


def attachment_get(*, actor: AnyUser, attachment_id: int, via: str = "web") -> Attachment:
    """An attachment with its bytes, for download: a read of the customer's conversation, audited."""
    access.require(actor, Capability.CONVERSATION_READ)
    attachment = found(
        Attachment.objects.select_related("message__conversation").filter(pk=attachment_id).first(),
        f"No attachment with id {attachment_id}.",
        field="attachment_id",
    )
    audit_record_reads(
        actor=actor,
        customer_ids=[attachment.message.conversation.customer_id],
        object_type="attachment",
        via=via,
        detail={"attachment": attachment.pk},
    )
    return attachment


def webhook_endpoints(*, actor: AnyUser) -> list[WebhookEndpoint]:
    access.require(actor, Capability.SUPPORT_ADMIN)
    return list(WebhookEndpoint.objects.order_by("id"))


def team_list() -> list[Team]:
    return list(Team.objects.order_by("name"))


def agents() -> list[User]:
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(groups__name__in=["agent", "admin"]) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


def conversation_counts(*, actor: AnyUser) -> dict[str, int]:
    access.require(actor, Capability.CONVERSATION_READ)
    counts = dict.fromkeys(Conversation.Status.values, 0)
    for row in Conversation.objects.values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts
