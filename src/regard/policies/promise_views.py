"""Promise pages (C5, S22): mine, my team's, overdue; recording one read in a draft; keeping,
withdrawing. Thin: selectors read (and audit), services write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from regard.errors import InvalidInput, RegardError
from regard.policies import promise_panels as panels
from regard.policies import selectors, services
from regard.policies.models import Promise
from regard.privacy import access
from regard.privacy.roles import Capability
from regard.support.models import Conversation
from regard.support.selectors import conversation_get
from regard.support.sla import calendar_for
from regard.web.access import requires

LISTS = {
    "mine": "My open promises",
    "team": "My team's promises",
    "overdue": "Overdue and broken promises",
}


def parse_due(value: str, *, conversation: Conversation | None) -> datetime | None:
    """A due time from a form: ISO with an offset, or a datetime-local read on the team's clock."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise InvalidInput("due_at: a date and time such as 2026-12-03T17:00.", field="due_at") from error
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=calendar_for(conversation.team if conversation else None).zone)
    return parsed


def _int(value: str, field: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(f"{field}: a whole number.", field=field)
    return int(value)


def _list_page(request: HttpRequest, which: str) -> HttpResponse:
    state = request.GET.get("state", "open" if which != "overdue" else "")
    filters: dict[str, Any] = {"state": state}
    if which == "mine":
        filters["owner"] = request.user.get_username()
    elif which == "team":
        # Managers see every team's promises on this page; agents their teams'.
        filters["team_only"] = not access.has_capability(request.user, Capability.PROMISE_READ_ALL)
    elif which == "overdue":
        filters["overdue"] = True
    try:
        promises = selectors.promise_list(actor=request.user, limit=200, via="web", **filters)
        error = None
    except InvalidInput as invalid:
        promises, error = [], invalid
    context = {
        "promises": promises,
        "which": which,
        "title": LISTS[which],
        "lists": LISTS,
        "state": state,
        "states": Promise.State.values,
        "error": error,
        "now": timezone.now(),
    }
    return render(request, "policies/promises/list.html", context, status=422 if error else 200)


@requires(Capability.PROMISE_WRITE)
def promises_mine(request: HttpRequest) -> HttpResponse:
    return _list_page(request, "mine")


@requires(Capability.PROMISE_WRITE)
def promises_team(request: HttpRequest) -> HttpResponse:
    return _list_page(request, "team")


@requires(Capability.PROMISE_WRITE)
def promises_overdue(request: HttpRequest) -> HttpResponse:
    return _list_page(request, "overdue")


def _panel_html(request: HttpRequest, conversation: Conversation) -> str:
    from django.template.loader import render_to_string

    from regard.customers.selectors import customer_group_ids

    panel = panels.promises_sidebar_panel(
        request.user, conversation, customer_group_ids(conversation.customer)
    )
    if panel is None:
        return ""
    return render_to_string(panel.template, {"panel": panel, "oob": True}, request=request)


@require_POST
@requires(Capability.PROMISE_WRITE)
def promise_record(request: HttpRequest) -> HttpResponse:
    """Record a promise on a conversation, e.g. one the reply check read in a draft (htmx)."""
    conversation_id = _int(request.POST.get("conversation", ""), "conversation")
    values = {
        k: request.POST.get(k, "") for k in ("kind", "what", "due_at", "due_working_days", "conversation")
    }
    try:
        if conversation_id is None:
            raise InvalidInput(
                "conversation: which conversation the promise was made in.", field="conversation"
            )
        conversation = conversation_get(actor=request.user, conversation_id=conversation_id, via="web")
        working_days = _int(values["due_working_days"], "due_working_days")
        due_at = None if working_days else parse_due(values["due_at"], conversation=conversation)
        assert isinstance(request.user, User)
        promise = services.promise_record(
            customer=conversation.customer,
            conversation=conversation,
            kind=values["kind"],
            what=values["what"],
            owner=request.user,
            actor=request.user,
            due_at=due_at,
            due_working_days=working_days,
            source="reply_check" if request.POST.get("from_finding") else "agent",
            via="web",
        )
    except RegardError as error:
        context = {"finding": {"data": values}, "error": error}
        return render(
            request, "policies/promises/_record_from_finding.html", context, status=error.http_status
        )
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("support:conversation", conversation_id=conversation.pk)
    context = {"promise": promise, "panel_html": _panel_html(request, conversation)}
    return render(request, "policies/promises/_recorded.html", context)


def _back(request: HttpRequest, promise: Promise) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    if promise.conversation_id:
        return redirect("support:conversation", conversation_id=promise.conversation_id)
    return redirect("policies:promises_mine")


@require_POST
@requires(Capability.PROMISE_WRITE)
def promise_keep(request: HttpRequest, promise_id: int) -> HttpResponse:
    promise = selectors.promise_get(actor=request.user, promise_id=promise_id, via="web")
    try:
        services.promise_keep(
            promise=promise, actor=request.user, note=request.POST.get("note", ""), via="web"
        )
    except RegardError as error:
        return render(
            request, "web/error.html", {"error": error, "message": error.message}, status=error.http_status
        )
    if request.htmx and promise.conversation_id:  # type: ignore[attr-defined]
        assert promise.conversation is not None
        return HttpResponse(_panel_html(request, promise.conversation))
    return _back(request, promise)


@requires(Capability.PROMISE_WRITE)
def promise_withdraw(request: HttpRequest, promise_id: int) -> HttpResponse:
    """Withdrawing is telling the customer: the page asks for the message, the service sends it."""
    promise = selectors.promise_get(actor=request.user, promise_id=promise_id, via="web")
    context: dict[str, Any] = {"promise": promise, "message_text": "", "findings": []}
    if request.method != "POST":
        return render(request, "policies/promises/withdraw.html", context)
    from regard.support.services import ReplyNeedsReview

    context["message_text"] = request.POST.get("message", "")
    try:
        services.promise_withdraw(
            promise=promise,
            actor=request.user,
            message_text=context["message_text"],
            override=request.POST.get("override") == "1",
            via="web",
        )
    except ReplyNeedsReview as review:
        context["findings"] = review.details["findings"]
        return render(request, "policies/promises/withdraw.html", context, status=409)
    except RegardError as error:
        context["error"] = error
        return render(request, "policies/promises/withdraw.html", context, status=error.http_status)
    return _back(request, promise)


urlpatterns = [
    path("promises/", promises_mine, name="promises_mine"),
    path("promises/team/", promises_team, name="promises_team"),
    path("promises/overdue/", promises_overdue, name="promises_overdue"),
    path("promises/record/", promise_record, name="promise_record"),
    path("promises/<int:promise_id>/keep/", promise_keep, name="promise_keep"),
    path("promises/<int:promise_id>/withdraw/", promise_withdraw, name="promise_withdraw"),
]
