"""The public satisfaction page (``/s/<token>``): no login, a signed link, rate-limited (C4).

GET shows the question and changes nothing (mail scanners follow links); POST records the
answer. Like the unsubscribe page it needs no session or CSRF cookie: the signed link is the
credential, and the worst a forged POST could do is answer a question it already knows the link to.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

from regard.errors import Conflict, InvalidInput
from regard.support.models import SatisfactionSurvey
from regard.support.surveys import MAX_COMMENT, survey_answer, survey_from_link
from regard.web.ratelimit import rate_limited

SCORES = [1, 2, 3, 4, 5]


def _page(
    request: HttpRequest, survey: SatisfactionSurvey, *, status: int = 200, error: InvalidInput | None = None
) -> HttpResponse:
    customer = survey.conversation.customer
    chosen = request.POST.get("score") or request.GET.get("score", "")
    context = {
        "survey": survey,
        "scores": SCORES,
        "chosen": chosen,
        "comment": request.POST.get("comment", ""),
        "error": error,
        "max_comment": MAX_COMMENT,
        "greeting": customer.greeting,
    }
    with translation.override(survey.conversation.language or customer.language):
        return render(request, "support/survey/question.html", context, status=status)


@csrf_exempt
@rate_limited
def survey(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = survey_from_link(token)
    except InvalidInput:
        return render(request, "consent/bad_link.html", status=400)
    if request.method == "POST":
        try:
            found = survey_answer(
                survey=found, score=request.POST.get("score", ""), comment=request.POST.get("comment", "")
            )
        except Conflict:
            return _page(request, found, status=409)
        except InvalidInput as error:
            return _page(request, found, status=422, error=error)
        return _page(request, found)
    if request.method not in {"GET", "HEAD"}:
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    return _page(request, found)
