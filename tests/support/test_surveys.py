"""Satisfaction after resolution: one question per conversation, through the gate, answered on a
signed public page without login (C4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from regard.consent.services import consent_grant
from regard.customers.models import TimelineEvent
from regard.outreach.dispatcher import dispatch_batch
from regard.outreach.models import OutboxMessage
from regard.support import services
from regard.support.models import Conversation, SatisfactionSurvey
from regard.support.surveys import survey_link_token, survey_request
from tests.customers.factories import make_customer
from tests.outreach.conftest import Recorder, _mail_settings, sender, smtp_server  # noqa: F401

NOON = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


def resolved(*, consent: bool = True, language: str = "en", **profile: Any) -> Conversation:
    customer = make_customer(identifiers=[("email", "ada@example.org")], language=language, **profile)
    if consent:
        consent_grant(
            actor=None, customer=customer, purpose="surveys", channel="email", source="form", now=NOON
        )
    conversation = services.conversation_open(
        customer=customer, channel="email", subject="Silent earphones", via="test", now=NOON
    )
    services.conversation_set_status(actor=None, conversation=conversation, status="resolved", now=NOON)
    return conversation


def asked(conversation: Conversation) -> tuple[SatisfactionSurvey, datetime]:
    """The survey resolution asked (after commit, when the hooks ran) and a daytime moment it is due by."""
    survey = SatisfactionSurvey.objects.filter(conversation=conversation).first() or survey_request(
        conversation_id=conversation.pk, now=NOON
    )
    assert survey is not None
    assert survey.outbox_message is not None
    due = survey.outbox_message.due_at
    return survey, (due + timedelta(days=1)).replace(hour=12, minute=0)


def test_resolution_asks_once_through_the_outbox_with_purpose_surveys(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    customer = make_customer(
        identifiers=[("email", "once@example.org")], preferred_name="Ada", formality="informal"
    )
    with django_capture_on_commit_callbacks(execute=True):
        conversation = services.conversation_open(
            customer=customer, channel="email", subject="Refund", via="test"
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_set_status(actor=None, conversation=conversation, status="resolved")
    survey = SatisfactionSurvey.objects.get(conversation=conversation)
    row = OutboxMessage.objects.get(dedupe_key=f"survey:conversation:{conversation.pk}")
    assert survey.outbox_message == row
    assert (row.kind, row.purpose, row.channel) == ("marketing", "surveys", "email")
    assert row.context["survey_url"].endswith("/s/" + survey_link_token(survey))
    assert row.expires_at is not None
    # Reopened and resolved again: still one question for this conversation.
    with django_capture_on_commit_callbacks(execute=True):
        services.message_receive(conversation=conversation, body_text="Not yet refunded.")
    with django_capture_on_commit_callbacks(execute=True):
        services.conversation_set_status(actor=None, conversation=conversation, status="closed")
    assert SatisfactionSurvey.objects.filter(conversation=conversation).count() == 1
    assert OutboxMessage.objects.filter(purpose="surveys").count() == 1
    assert survey_request(conversation_id=conversation.pk) is None


def test_an_open_conversation_is_not_asked(db: None) -> None:
    customer = make_customer(identifiers=[("email", "open@example.org")])
    conversation = services.conversation_open(customer=customer, channel="email", via="test")
    assert survey_request(conversation_id=conversation.pk) is None
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_gate_sends_it_with_consent_and_an_unsubscribe_link(
    smtp_server: tuple[Recorder, str],  # noqa: F811
    sender: Any,  # noqa: F811
) -> None:
    conversation = resolved(preferred_name="Ada", formality="informal")
    survey, daytime = asked(conversation)
    assert dispatch_batch(sender=sender, now=daytime)["sent"] == 1
    (received,) = smtp_server[0].to("ada@example.org")
    text = received.message.get_payload(decode=True).decode()
    assert text.startswith("Hi Ada,")
    assert "“Silent earphones”" in text
    assert f"/s/{survey_link_token(survey)}" in text
    assert received.message["List-Unsubscribe"]
    assert f"[#{conversation.token}]" in received.message["Subject"]


@pytest.mark.django_db(transaction=True)
def test_without_consent_to_surveys_the_gate_drops_it(
    smtp_server: tuple[Recorder, str],  # noqa: F811
    sender: Any,  # noqa: F811
) -> None:
    conversation = resolved(consent=False)
    _, daytime = asked(conversation)
    dispatch_batch(sender=sender, now=daytime)
    assert smtp_server[0].received == []
    row = OutboxMessage.objects.get(purpose="surveys")
    assert row.state == "dropped"
    assert "no_consent" in str(row.gate_reasons)


def test_the_question_is_in_the_customers_language(db: None) -> None:
    conversation = resolved(language="de", salutation="Frau", family_name="Müller", formality="formal")
    survey_request(conversation_id=conversation.pk, now=NOON)
    row = OutboxMessage.objects.get(purpose="surveys")
    assert row.subject.startswith("Wie zufrieden")
    assert "„{{ conversation_subject }}“" in row.body


def test_the_public_page_shows_the_question_on_get_and_changes_nothing(db: None) -> None:
    conversation = resolved()
    survey = survey_request(conversation_id=conversation.pk, now=NOON)
    assert survey is not None
    page = Client().get(f"/s/{survey_link_token(survey)}?score=4")
    assert page.status_code == 200
    assert b"How did we do?" in page.content
    assert b'value="4" required checked' in page.content
    survey.refresh_from_db()
    assert survey.score is None
    assert survey.answered_at is None


def test_an_answer_is_recorded_once_and_lands_on_the_timeline(db: None) -> None:
    conversation = resolved()
    survey = survey_request(conversation_id=conversation.pk, now=NOON)
    assert survey is not None
    url = f"/s/{survey_link_token(survey)}"
    answered = Client().post(url, {"score": "4", "comment": "Quick, thank you."})
    assert answered.status_code == 200
    assert b"You rated us 4 out of 5." in answered.content
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (4, "Quick, thank you.")
    event = TimelineEvent.objects.get(customer=conversation.customer, kind="conversation.satisfaction")
    assert event.data["score"] == 4
    assert "rated 4/5" in event.summary
    again = Client().post(url, {"score": "1"})
    assert again.status_code == 409
    survey.refresh_from_db()
    assert survey.score == 4
    assert TimelineEvent.objects.filter(kind="conversation.satisfaction").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"score": "7"}, "score"),
        ({"score": "four"}, "score"),
        ({}, "score"),
        ({"score": "3", "comment": "x" * 2001}, "comment"),
    ],
)
def test_bad_answers_name_the_field_and_change_nothing(db: None, data: dict[str, str], field: str) -> None:
    conversation = resolved()
    survey = survey_request(conversation_id=conversation.pk, now=NOON)
    assert survey is not None
    response = Client().post(f"/s/{survey_link_token(survey)}", data)
    assert response.status_code == 422
    assert f'data-field="{field}"'.encode() in response.content
    survey.refresh_from_db()
    assert survey.answered_at is None
    assert not TimelineEvent.objects.filter(kind="conversation.satisfaction").exists()


def test_a_forged_or_cut_link_is_refused(db: None) -> None:
    conversation = resolved()
    survey = survey_request(conversation_id=conversation.pk, now=NOON)
    assert survey is not None
    good = survey_link_token(survey)
    for bad in (good[:-3], survey.token, good.replace(survey.token[:4], "AAAA")):
        assert Client().post(f"/s/{bad}", {"score": "5"}).status_code == 400
    survey.refresh_from_db()
    assert survey.answered_at is None


def test_the_public_page_is_rate_limited(db: None) -> None:
    conversation = resolved()
    survey = survey_request(conversation_id=conversation.pk, now=NOON)
    assert survey is not None
    client = Client()
    statuses = [client.get(f"/s/{survey_link_token(survey)}").status_code for _ in range(35)]
    assert statuses[0] == 200
    assert statuses[-1] == 429
