"""One short satisfaction question after resolution (C4), through the gate like any other message.

At most one per conversation, ever (a reopened and re-resolved conversation is not asked
again). It goes to the outbox with purpose ``surveys`` as an optional message, so the gate
applies consent, suppression, caps and quiet hours, and the mail carries an unsubscribe link.
The customer answers on a signed public page (``/s/<token>``) without logging in.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from regard.customers.services import timeline_append
from regard.errors import Conflict, InvalidInput
from regard.outreach.models import OutboxMessage
from regard.outreach.services import dispatch_soon, outbox_enqueue
from regard.support.models import Conversation, SatisfactionSurvey

PURPOSE = "surveys"
# A question asked two weeks late is noise; the gate drops it after this.
VALID_FOR = timedelta(days=14)
MAX_COMMENT = 2000
_signer = signing.Signer(salt="regard.support.survey", sep="~")

# Plain text in the customer's language; the conversation's subject is context, never template text.
QUESTIONS = {
    "en": (
        "How did we do? [#{{ token }}]",
        "{{ greeting }},\n\nwe have marked your request “{{ conversation_subject }}” as resolved. "
        "How satisfied are you, from 1 (not at all) to 5 (very)? One question, one click, "
        "and a comment if you like:\n\n{{ survey_url }}\n\nIf it is not resolved for you, just reply to this "
        "message and a person will pick it up again.",
    ),
    "de": (
        "Wie zufrieden waren Sie? [#{{ token }}]",
        "{{ greeting }},\n\nwir haben Ihre Anfrage „{{ conversation_subject }}“ als gelöst markiert. "
        "Wie zufrieden sind Sie, von 1 (gar nicht) bis 5 (sehr)? Eine Frage, ein Klick, "
        "gern mit Kommentar:\n\n{{ survey_url }}\n\nFalls es für Sie nicht gelöst ist, antworten Sie einfach "
        "auf diese Nachricht, und ein Mensch kümmert sich wieder darum.",
    ),
    "fr": (
        "Comment avons-nous fait ? [#{{ token }}]",
        "{{ greeting }},\n\nnous avons marqué votre demande « {{ conversation_subject }} » comme résolue. "
        "Êtes-vous satisfait, de 1 (pas du tout) à 5 (très) ? Une question, un clic, "
        "et un commentaire si vous le souhaitez :\n\n{{ survey_url }}\n\nSi ce n'est pas résolu pour vous, "
        "répondez simplement à ce message et une personne s'en occupera.",
    ),
}


def survey_link_token(survey: SatisfactionSurvey) -> str:
    return _signer.sign(survey.token)


def survey_url(survey: SatisfactionSurvey) -> str:
    return f"{settings.REGARD_PUBLIC_URL}/s/{survey_link_token(survey)}"


def survey_from_link(link_token: str) -> SatisfactionSurvey:
    """The survey a public link names; a forged or cut link is an error naming the token."""
    try:
        raw = _signer.unsign(link_token)
    except signing.BadSignature:
        raise InvalidInput("token: this link is not valid (it may be cut short).", field="token") from None
    survey = SatisfactionSurvey.objects.select_related("conversation").filter(token=raw).first()
    if survey is None:
        raise InvalidInput("token: this link is not valid.", field="token")
    return survey


@transaction.atomic
def survey_request(*, conversation_id: int, now: datetime | None = None) -> SatisfactionSurvey | None:
    """Ask once, after resolution; None when the conversation is not resolved or was already asked."""
    now = now or timezone.now()
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None or conversation.resolved_at is None:
        return None
    if SatisfactionSurvey.objects.filter(conversation=conversation).exists():
        return None
    customer = conversation.customer
    language = (conversation.language or customer.language or "en").split("-")[0]
    subject, body = QUESTIONS.get(language, QUESTIONS["en"])
    try:
        with transaction.atomic():
            survey = SatisfactionSurvey.objects.create(
                conversation=conversation, token=secrets.token_urlsafe(18), sent_at=now
            )
    except IntegrityError:
        return None  # asked by a concurrent resolution
    row, _ = outbox_enqueue(
        customer=customer,
        kind=OutboxMessage.Kind.MARKETING,  # optional: consent, caps and an unsubscribe link apply
        purpose=PURPOSE,
        dedupe_key=f"survey:conversation:{conversation.pk}",
        subject=subject,
        body=body,
        context={
            "token": conversation.token,
            "conversation_subject": conversation.subject or conversation.kind,
            "survey_url": survey_url(survey),
        },
        expires_at=now + VALID_FOR,
        now=now,
    )
    survey.outbox_message = row
    survey.save(update_fields=["outbox_message"])
    dispatch_soon()
    return survey


def clean_score(raw: object) -> int:
    try:
        score = int(str(raw).strip())
    except ValueError:
        raise InvalidInput("score: choose a number from 1 to 5.", field="score") from None
    if not 1 <= score <= 5:
        raise InvalidInput("score: choose a number from 1 to 5.", field="score")
    return score


@transaction.atomic
def survey_answer(
    *, survey: SatisfactionSurvey, score: object, comment: str = "", now: datetime | None = None
) -> SatisfactionSurvey:
    """Record the answer once and put it on the customer's timeline."""
    now = now or timezone.now()
    value = clean_score(score)
    if not isinstance(comment, str) or "\x00" in comment:
        raise InvalidInput("comment: must be text.", field="comment")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment: at most {MAX_COMMENT} characters.", field="comment")
    survey = SatisfactionSurvey.objects.select_for_update().select_related("conversation").get(pk=survey.pk)
    if survey.answered_at is not None:
        raise Conflict("score: this question was already answered. Thank you!", field="score")
    survey.score, survey.comment, survey.answered_at = value, comment, now
    survey.save(update_fields=["score", "comment", "answered_at"])
    conversation = survey.conversation
    timeline_append(
        customer=conversation.customer,
        kind="conversation.satisfaction",
        channel=conversation.channel,
        summary=f"[#{conversation.token}] rated {value}/5" + (f": {comment[:200]}" if comment else ""),
        occurred_at=now,
        subject=conversation,
        data={"score": value, "comment": comment, "survey": survey.pk},
    )
    return survey


def on_conversation_event(event: str, conversation_id: int, message_id: int | None) -> None:
    if event == "conversation.resolved":
        survey_request(conversation_id=conversation_id)
