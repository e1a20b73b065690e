"""Pages of the policies app: thin, composing selectors; services do the writing."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from regard.customers.models import OrderLine
from regard.customers.selectors import customer_group_ids
from regard.errors import InvalidInput, NotFound, RegardError
from regard.inputs import whole_number
from regard.policies import remedy_panels as panels
from regard.policies.selectors import remedies as remedy_selectors
from regard.policies.services import remedies as remedy_services
from regard.privacy import access
from regard.privacy.roles import Capability
from regard.support import selectors as support_selectors
from regard.web.access import requires


@requires(Capability.CONVERSATION_READ)
def entitlement_panel(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The sidebar panel for another order line the agent picked (htmx swaps it in)."""
    conversation = support_selectors.conversation_get(
        actor=request.user, conversation_id=conversation_id, via="web"
    )
    line = request.GET.get("line", "")
    panel = panels.entitlement_beside_conversation(
        request.user,
        conversation,
        customer_group_ids(conversation.customer),
        line_id=whole_number(line, field="line") if line else None,
    )
    return render(
        request, "policies/entitlement_panel_page.html", {"panel": panel, "conversation": conversation}
    )


@require_POST
@requires(Capability.REMEDY_GRANT)
def grant(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = support_selectors.conversation_get(
        actor=request.user, conversation_id=conversation_id, via="web"
    )
    raw_line = request.POST.get("order_line", "")
    line = None
    if raw_line:
        line = (
            OrderLine.objects.select_related("order", "product")
            .filter(pk=whole_number(raw_line, field="order_line"))
            .first()
        )
        if line is None:
            raise NotFound("order_line: no such order line.", field="order_line")
    try:
        granted = remedy_services.remedy_grant(
            actor=request.user,  # type: ignore[arg-type]
            customer=conversation.customer,
            kind=request.POST.get("kind", ""),
            order_line=line,
            conversation=conversation,
            amount=request.POST.get("amount") or None,
            currency=request.POST.get("currency", ""),
            request_text=request.POST.get("request_text", ""),
            note=request.POST.get("note", ""),
            via="web",
        )
    except RegardError as error:
        messages.error(request, error.message)
        return redirect("support:conversation", conversation_id=conversation_id)
    amount = f" of {granted.amount} {granted.currency}" if granted.amount is not None else ""
    done = f"Granted {granted.get_kind_display().lower()}{amount}" + (
        " as an exception to policy." if granted.is_exception else "."
    )
    if granted.promise is not None:
        done += f" Promise recorded: {granted.promise.what}, due {granted.promise.due_at:%d %b %Y %H:%M}."
    messages.success(request, done)
    return redirect("support:conversation", conversation_id=conversation_id)


@requires(Capability.CONVERSATION_READ)
def policy_list(request: HttpRequest) -> HttpResponse:
    policies = remedy_selectors.policy_list()
    rows = [(policy, max(policy.versions.all(), key=lambda v: v.number)) for policy in policies]
    return render(
        request,
        "policies/policy_list.html",
        {"rows": rows, "may_edit": access.has_capability(request.user, Capability.POLICY_MANAGE)},
    )


@requires(Capability.CONVERSATION_READ)
def policy_detail(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = remedy_selectors.policy_get(actor=request.user, policy_id=policy_id)
    version = remedy_selectors.latest_version(policy)
    context = {
        "policy": policy,
        "version": version,
        "versions": policy.versions.order_by("-number"),
        "windows_text": remedy_services.windows_as_text(version.windows),
        "wording_en": version.wording.get("en", ""),
        "wording_de": version.wording.get("de", ""),
        "counted_from": version.counted_from,
        "may_edit": access.has_capability(request.user, Capability.POLICY_MANAGE),
        "preview": [],
    }
    if request.method == "POST":
        access.require(request.user, Capability.POLICY_MANAGE)
        context |= {
            "windows_text": request.POST.get("windows", ""),
            "wording_en": request.POST.get("wording_en", ""),
            "wording_de": request.POST.get("wording_de", ""),
            "counted_from": request.POST.get("counted_from", version.counted_from),
        }
        wording = {"en": context["wording_en"], "de": context["wording_de"]}
        try:
            windows = remedy_services.clean_windows(
                remedy_services.windows_from_text(context["windows_text"])
            )
            cleaned_wording = remedy_services.clean_wording(wording)
            counted_from = remedy_services.clean_counted_from(context["counted_from"])
            if request.POST.get("action") == "save":
                remedy_services.remedy_policy_revise(
                    actor=request.user,
                    policy=policy,
                    windows=windows,
                    wording=cleaned_wording,
                    counted_from=counted_from,
                )
                messages.success(
                    request, "Saved as a new version; earlier decisions keep the version they used."
                )
                return redirect("policies:policy", policy_id=policy.pk)
            context["preview"] = remedy_selectors.preview_changes(
                policy=policy, windows=windows, wording=cleaned_wording, counted_from=counted_from
            )
        except InvalidInput as invalid:
            context["error"] = invalid
            return render(request, "policies/policy_detail.html", context, status=422)
    return render(request, "policies/policy_detail.html", context)
