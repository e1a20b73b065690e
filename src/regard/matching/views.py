"""The review queue (C1): both records side by side, why they look alike, accept / reject / undo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from regard.customers import selectors as customer_selectors
from regard.customers.services import PROFILE_FIELDS
from regard.matching import selectors, services
from regard.privacy.roles import Capability
from regard.web.access import requires

FIELD_LABELS = {
    "given_name": "Given name",
    "family_name": "Family name",
    "date_of_birth": "Date of birth",
    "street": "Street",
    "locality": "Locality",
    "postcode": "Postcode",
    "email": "Email",
    "phone": "Phone",
    "account": "Account",
}


@dataclass(frozen=True)
class Bar:
    label: str
    level: str
    weight: float
    y: int
    x: float
    width: float
    kind: str  # prior, up, down, total


def waterfall(explanation: dict[str, Any], *, width: int = 520, row: int = 26) -> dict[str, Any]:
    """Server-side SVG geometry for a waterfall of match weights (prior, each field, total)."""
    steps = [("Prior", "two random people", float(explanation.get("prior_weight", 0.0)))]
    steps += [
        (FIELD_LABELS.get(s["field"], s["field"]), s["level"], float(s["weight"]))
        for s in explanation.get("fields", [])
    ]
    running, spans = 0.0, []
    for _, _, weight in steps:
        spans.append((running, running + weight))
        running += weight
    low = min([0.0, running] + [min(a, b) for a, b in spans])
    high = max([0.0, running] + [max(a, b) for a, b in spans])
    scale = (width - 20) / max(high - low, 1e-9)

    def x_of(value: float) -> float:
        return 10 + (value - low) * scale

    bars = []
    for index, ((label, level, weight), (start, end)) in enumerate(zip(steps, spans, strict=True)):
        kind = "prior" if index == 0 else ("up" if weight > 0 else "down")
        bars.append(
            Bar(
                label,
                level,
                round(weight, 2),
                index * row,
                x_of(min(start, end)),
                max(abs(end - start) * scale, 1.5),
                kind,
            )
        )
    bars.append(
        Bar(
            "Match weight",
            "total",
            round(running, 2),
            len(steps) * row,
            x_of(min(0.0, running)),
            max(abs(running) * scale, 1.5),
            "total",
        )
    )
    return {"bars": bars, "zero": x_of(0.0), "width": width, "height": (len(steps) + 1) * row, "row": row}


@requires(Capability.MATCH_REVIEW)
def review_queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "proposed")
    queue = selectors.candidate_queue(actor=request.user, status=status or None)
    page = Paginator(queue, 25).get_page(request.GET.get("page"))
    names = customer_selectors.customer_names(
        actor=request.user,
        customer_ids=[pk for c in page for pk in (c.customer_low_id, c.customer_high_id)],
    )
    rows = [(c, names.get(c.customer_low_id, ""), names.get(c.customer_high_id, "")) for c in page]
    return render(request, "matching/queue.html", {"page": page, "rows": rows, "status": status})


@requires(Capability.MATCH_REVIEW)
def candidate_detail(request: HttpRequest, candidate_id: int) -> HttpResponse:
    review = selectors.candidate_review(actor=request.user, candidate_id=candidate_id)
    fields = [
        (name.replace("_", " "), getattr(review.left, name), getattr(review.right, name))
        for name in PROFILE_FIELDS
        if getattr(review.left, name) or getattr(review.right, name)
    ]
    context = {
        "review": review,
        "candidate": review.candidate,
        "fields": fields,
        "chart": waterfall(review.candidate.explanation),
    }
    return render(request, "matching/candidate.html", context)


@require_POST
@requires(Capability.MATCH_REVIEW)
def candidate_accept(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = selectors.candidate_get(actor=request.user, candidate_id=candidate_id)
    merge = services.candidate_accept(candidate=candidate, actor=request.user, via="web")
    messages.success(
        request, f"Merged customer {merge.absorbed_id} into {merge.survivor_id}. You can undo this."
    )
    return redirect("matching:candidate", candidate_id=candidate.pk)


@require_POST
@requires(Capability.MATCH_REVIEW)
def candidate_reject(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = selectors.candidate_get(actor=request.user, candidate_id=candidate_id)
    services.candidate_reject(candidate=candidate, actor=request.user, via="web")
    messages.success(request, "Marked as different people; this pair will not be proposed again.")
    return redirect("matching:queue")


@require_POST
@requires(Capability.MATCH_REVIEW)
def candidate_undo(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = selectors.candidate_get(actor=request.user, candidate_id=candidate_id)
    services.candidate_merge_undo(candidate=candidate, actor=request.user, via="web")
    messages.success(request, "Merge undone; both profiles are back as they were.")
    return redirect("matching:candidate", candidate_id=candidate.pk)
