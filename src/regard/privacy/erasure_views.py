"""Erasure from Customer 360 (Art. 17): a button for admins, a page to give the reason and confirm."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from regard.customers.models import Customer
from regard.customers.panels import Panel
from regard.errors import NotFound, RegardError
from regard.privacy import access
from regard.privacy.access import AnyUser
from regard.privacy.erasure import REASON_MAX, customer_erase
from regard.privacy.roles import Capability
from regard.privacy.services import audit_record_reads
from regard.web.access import requires


def erase_customer_panel(actor: AnyUser, customer: Customer, group: list[int]) -> Panel | None:
    """The button on Customer 360, for admins; no query."""
    if not access.has_capability(actor, Capability.CUSTOMER_ERASE) or customer.merged_into_id:
        return None
    context = {"href": reverse("customer_erase", args=[customer.pk]), "erased_at": customer.erased_at}
    return Panel("erase", "Erasure", "privacy/erase_panel.html", context)


@requires(Capability.CUSTOMER_ERASE)
def erase_confirm(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"No customer with id {customer_id}.", field="id")
    reason, error, status = "", None, 200
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        if request.POST.get("confirm") != "yes":
            error, status = (
                ("confirm", "confirm: tick the box to say you understand it cannot be undone."),
                422,
            )
        else:
            try:
                customer_erase(actor=request.user, customer_id=customer.pk, reason=reason, via="web")
            except RegardError as refused:
                error, status = (refused.field or "reason", refused.message), refused.http_status
            else:
                messages.success(request, f"Customer {customer.pk} was erased. This cannot be undone.")
                return redirect("customers:detail", customer_id=customer.pk)
    audit_record_reads(actor=request.user, customer_ids=[customer.pk], object_type="customer", via="web")
    context = {"customer": customer, "reason": reason, "error": error, "reason_max": REASON_MAX}
    return render(request, "privacy/erase_confirm.html", context, status=status)
