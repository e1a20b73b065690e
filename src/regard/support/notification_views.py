"""The agent's notifications page: SLA warnings and breaches, newest first (C4)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from regard.inputs import whole_number
from regard.privacy.roles import Capability
from regard.support.notifications import notification_list, notifications_mark_read
from regard.web.access import requires


@requires(Capability.CONVERSATION_READ)
def notifications_page(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    rows = list(notification_list(actor=request.user, unread_only=unread_only))
    return render(request, "support/notifications.html", {"notifications": rows, "unread_only": unread_only})


@require_POST
@requires(Capability.CONVERSATION_READ)
def notifications_read(request: HttpRequest) -> HttpResponse:
    raw = request.POST.getlist("id")
    ids = [whole_number(value, field="id") for value in raw]
    notifications_mark_read(actor=request.user, ids=ids or None)
    return redirect("support:notifications")
