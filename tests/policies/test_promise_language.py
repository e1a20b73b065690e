"""Promise language in drafts, English and German, and its negatives (C5, S22)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from regard.policies.promise_language import read_promises
from regard.support.working_time import WorkingCalendar

# Wednesday 2 Dec 2026, 10:00 in Berlin; the desk is open Mon–Fri 09:00–17:00, German holidays.
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
CALENDAR = WorkingCalendar.from_business_hours(
    {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [], "sun": []},
    time_zone="Europe/Berlin",
    country="DE",
)


def read(text: str) -> list[tuple[str, str | None, int | None]]:
    return [
        (
            p.kind,
            p.due_at.astimezone(CALENDAR.zone).strftime("%Y-%m-%d %H:%M") if p.due_at else None,
            p.due_working_days,
        )
        for p in read_promises(text, now=NOW, calendar=CALENDAR)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We'll call you back tomorrow.", ("callback", "2026-12-03 17:00", None)),
        ("Your replacement ships within 3 days.", ("shipment", "2026-12-05 17:00", None)),
        ("Wir rufen Sie morgen zurück.", ("callback", "2026-12-03 17:00", None)),
        ("Ihr Ersatz wird innerhalb von 3 Werktagen versandt.", ("shipment", None, 3)),
        ("I'll get back to you by Friday.", ("follow_up", "2026-12-04 17:00", None)),
        ("We will refund the full amount within 5 working days.", ("refund", None, 5)),
        ("I will call you on Monday.", ("callback", "2026-12-07 17:00", None)),
        ("We'll credit €10 to your account today.", ("credit", "2026-12-02 17:00", None)),
        ("We will send you a new pair by 10 December.", ("shipment", "2026-12-10 17:00", None)),
        ("Die Gutschrift wird bis zum 07.12.2026 gebucht.", ("credit", "2026-12-07 17:00", None)),
        ("Ich melde mich bis Freitag bei Ihnen.", ("follow_up", "2026-12-04 17:00", None)),
        ("Wir schicken Ihnen übermorgen ein Ersatzgerät.", ("shipment", "2026-12-04 17:00", None)),
        ("I'll email you within two days.", ("follow_up", "2026-12-04 17:00", None)),
        ("You'll receive the replacement within 2 business days.", ("shipment", None, 2)),
        ("We'll ship it on 2026-12-09.", ("shipment", "2026-12-09 17:00", None)),
        ("Wir erstatten Ihnen den Betrag innerhalb von zwei Tagen.", ("refund", "2026-12-04 17:00", None)),
        ("I'll ring you back by the end of the week.", ("callback", "2026-12-04 17:00", None)),
        ("We'll call you next Tuesday.", ("callback", "2026-12-08 17:00", None)),
    ],
)
def test_promises_are_read_with_kind_and_due(text: str, expected: tuple[str, str | None, int | None]) -> None:
    assert read(f"Hi Mika,\n\n{text}\n\nBest, Jo") == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "Thank you for your patience.",
        "We can't promise a date yet.",
        "We can't promise that we'll call you tomorrow.",
        "We called you yesterday but could not reach you.",
        "Wir haben Sie gestern angerufen.",
        "We shipped the replacement yesterday.",
        "Shall we call you tomorrow?",
        "I will look into it.",  # no due time: not something to track
        "Tomorrow is a public holiday in Germany.",
        "Guten Morgen, vielen Dank für Ihre Nachricht.",
        "Wir werden Sie nicht morgen anrufen.",
        "We'll be happy to help with anything else tomorrow.",
        "> We'll call you back tomorrow.",  # the customer's quoted words
        "Your order arrived on 12 November.",
    ],
)
def test_ordinary_sentences_refusals_questions_and_past_tense_are_not_promises(text: str) -> None:
    assert read(f"Hi Mika,\n\n{text}") == []


def test_two_promises_in_one_draft() -> None:
    draft = "Hi Mika,\n\nWe'll call you back tomorrow. Your replacement ships within 3 working days."
    assert [k for k, _, _ in read(draft)] == ["callback", "shipment"]


def test_a_weekday_named_on_that_day_means_next_week() -> None:
    friday = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    (promise,) = read_promises("I'll get back to you by Friday.", now=friday, calendar=CALENDAR)
    assert promise.due_at is not None
    assert promise.due_at.date().isoformat() == "2026-12-11"
