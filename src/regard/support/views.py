"""Support desk pages: the agent inbox, a conversation with the customer beside it, call logging,
and the public contact form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from regard.api.errors import schema_parse
from regard.customers.selectors import customer_get
from regard.errors import InvalidInput, RegardError
from regard.inputs import OFFSET_MAX, whole_number
from regard.privacy.roles import Capability
from regard.support import selectors, services
from regard.support.models import Conversation
from regard.support.schemas import CallIn
from regard.web.access import requires
from regard.web.i18n import in_visitors_language
from regard.web.ratelimit import hit, rate_limited, too_many

if TYPE_CHECKING:  # a type only: the customer comes from customers.selectors
    from regard.customers.models import Customer


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


@requires(Capability.CONVERSATION_WRITE)
def call_new(request: HttpRequest) -> HttpResponse:
    """Log a phone call: from the inbox (by the caller's number) or a customer's page (?customer=ID)."""
    customer: Customer | None = None
    raw_customer = request.GET.get("customer") or request.POST.get("customer") or ""
    if raw_customer:
        customer = customer_get(
            actor=request.user,
            customer_id=whole_number(raw_customer, field="customer"),
            audit_as=None,  # the form shows the name only; the call logged is audited by call_log
            field="customer",
            via="web",
        )
    values: dict[str, Any] = {"status": "resolved", "direction": "in", "kind": "question"}
    error: RegardError | None = None
    if request.method == "POST":
        values = {
            key: request.POST.get(key, "")
            for key in ("phone", "name", "notes", "outcome", "kind", "status", "direction", "team")
        }
        try:
            # The API's CallIn reads the form; a field left blank takes the API's default.
            call = schema_parse(CallIn, {key: value for key, value in values.items() if value})
            conversation = services.call_log(
                actor=request.user,
                customer=customer,
                team=selectors.team_get(slug=call.team),
                **call.model_dump(exclude={"customer_id", "team"}),
                via="web",
            )
        except InvalidInput as invalid:
            error = invalid
        else:
            return redirect("support:conversation", conversation_id=conversation.pk)
    context = {
        "customer": customer,
        "values": values,
        "error": error,
        "teams": selectors.team_list(),
        "kinds": Conversation.Kind.values,
        "statuses": Conversation.Status.values,
    }
    return render(request, "support/call_form.html", context, status=422 if error else 200)


def _conversation_context(request: HttpRequest, conversation: Conversation, **extra: Any) -> dict[str, Any]:
    beside = selectors.customer_beside(actor=request.user, conversation=conversation, via="web")
    return {
        "conversation": conversation,
        "messages": selectors.messages_of(conversation),
        "beside": beside,
        "customer": beside.view.customer,
        "agents": selectors.agents(),
        "teams": selectors.team_list(),
        "statuses": Conversation.Status.values,
        "findings": [],
        "draft": "",
        **extra,
    }


@requires(Capability.CONVERSATION_READ)
def conversation_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = selectors.conversation_get(actor=request.user, conversation_id=conversation_id, via="web")
    return render(request, "support/conversation.html", _conversation_context(request, conversation))


def _posted(request: HttpRequest, conversation_id: int) -> Conversation:
    return selectors.conversation_for_write(actor=request.user, conversation_id=conversation_id)


@require_POST
@requires(Capability.CONVERSATION_WRITE)
def conversation_reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _posted(request, conversation_id)
    draft = request.POST.get("body", "")
    try:
        services.reply_send(
            actor=request.user,
            conversation=conversation,
            body_text=draft,
            override=request.POST.get("override") == "1",
            via="web",
        )
    except services.ReplyNeedsReview as review:
        return _reply_refused(request, conversation_id, draft, 409, findings=review.details["findings"])
    except InvalidInput as invalid:
        return _reply_refused(request, conversation_id, draft, 422, error=invalid)
    return redirect("support:conversation", conversation_id=conversation_id)


def _reply_refused(
    request: HttpRequest, conversation_id: int, draft: str, status: int, **extra: Any
) -> HttpResponse:
    """The conversation again with the draft kept and why it was not sent (the reply check, bad input)."""
    conversation = selectors.conversation_get(actor=request.user, conversation_id=conversation_id, via="web")
    context = _conversation_context(request, conversation, draft=draft, **extra)
    return render(request, "support/conversation.html", context, status=status)


@require_POST
@requires(Capability.CONVERSATION_WRITE)
def conversation_note(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _posted(request, conversation_id)
    services.note_add(
        actor=request.user, conversation=conversation, body_text=request.POST.get("body", ""), via="web"
    )
    return redirect("support:conversation", conversation_id=conversation_id)


@require_POST
@requires(Capability.CONVERSATION_WRITE)
def conversation_assign(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _posted(request, conversation_id)
    services.conversation_assign(
        actor=request.user,
        conversation=conversation,
        assignee=selectors.assignee_get(username=request.POST.get("assignee", "")),
        team=selectors.team_get(slug=request.POST.get("team", "")),
        via="web",
    )
    return redirect("support:conversation", conversation_id=conversation_id)


@require_POST
@requires(Capability.CONVERSATION_WRITE)
def conversation_status(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _posted(request, conversation_id)
    outcome = request.POST.get("outcome")
    services.conversation_set_status(
        actor=request.user,
        conversation=conversation,
        status=request.POST.get("status", ""),
        outcome=outcome if outcome else None,
        via="web",
    )
    return redirect("support:conversation", conversation_id=conversation_id)


SAFE_INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "application/pdf", "text/plain"})


@requires(Capability.CONVERSATION_READ)
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = selectors.attachment_get(actor=request.user, attachment_id=attachment_id, via="web")
    content_type = (
        attachment.content_type
        if attachment.content_type in SAFE_INLINE_TYPES
        else "application/octet-stream"
    )
    response = HttpResponse(bytes(attachment.data), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{_safe_filename(attachment.filename)}"'
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _safe_filename(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._- " else "_" for c in name).strip() or "attachment"
    return cleaned[:120]


INBOX_PAGE = 50


@requires(Capability.CONVERSATION_READ)
def inbox(request: HtmxRequest) -> HttpResponse:
    """The agent inbox: every channel in one list, filtered by status, team, assignee and channel."""
    filters = selectors.ConversationFilters(
        status=request.GET.get("status", "active"),
        channel=request.GET.get("channel", ""),
        team=request.GET.get("team", ""),
        assignee=request.GET.get("assignee", ""),
    )
    offset = whole_number(request.GET.get("offset", "0"), field="offset", maximum=OFFSET_MAX)
    page = selectors.conversation_list(
        actor=request.user, filters=filters, limit=INBOX_PAGE, offset=offset, via="web"
    )
    context = {
        "page": page,
        "filters": filters,
        "statuses": ["active", *Conversation.Status.values],
        "channels": Conversation.Channel.values,
        "teams": selectors.team_list(),
        "agents": selectors.agents(),
        "counts": selectors.conversation_counts(actor=request.user),
    }
    template = "support/_inbox_list.html" if request.htmx else "support/inbox.html"
    return render(request, template, context)


# --- the public contact form --------------------------------------------------------------

HONEYPOT = "website"  # hidden from people; a bot that fills it is thanked and ignored


@csrf_protect
@rate_limited
@in_visitors_language
def contact(request: HttpRequest) -> HttpResponse:
    """Public, no login: opens a conversation for the sender (C4). CSRF-protected, honeypot, rate-limited."""
    values = {key: request.POST.get(key, "") for key in ("name", "email", "subject", "message")}
    if request.method != "POST":
        return render(request, "support/contact.html", {"values": values})
    if request.POST.get(HONEYPOT):
        return render(request, "support/contact_thanks.html", {"token": ""})
    if hit(request, group="contact", rate=settings.REGARD_CONTACT_RATE_LIMIT):
        return too_many(gettext("Too many messages from here; try again in a few minutes."))
    try:
        conversation = services.form_submit(
            email=values["email"], name=values["name"], subject=values["subject"], body_text=values["message"]
        )
    except InvalidInput as invalid:
        return render(request, "support/contact.html", {"values": values, "error": invalid}, status=422)
    return render(request, "support/contact_thanks.html", {"token": conversation.token})
