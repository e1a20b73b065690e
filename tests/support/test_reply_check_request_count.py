"""The reply check counts requests, not sentences (S8, issue 11 item 6)."""

from __future__ import annotations

import pytest

from regard.support.reply_check import Facts, parse_draft, too_many_requests

LIMIT_TWO = Facts(max_requests=2)


def asks(text: str) -> int:
    return sum(s.request_count for s in parse_draft(text).sentences)


def test_one_sentence_with_a_list_of_tasks_is_caught_in_english() -> None:
    draft = (
        "Hi Fabrizio,\n\nplease send a video of the issue, a photo of the receipt, and try a factory reset "
        "first. Also check for liquid damage."
    )
    findings = too_many_requests(parse_draft(draft), LIMIT_TWO)
    assert [f.code for f in findings] == ["too_many_requests"]
    assert "asks the customer for 4 things" in findings[0].message


def test_the_same_in_german() -> None:
    draft = (
        "Hallo Herr Rossi,\n\nbitte senden Sie uns ein Video des Problems, ein Foto des Kassenbons und "
        "versuchen Sie zuerst einen Werksreset. Prüfen Sie außerdem, ob ein Flüssigkeitsschaden vorliegt."
    )
    findings = too_many_requests(parse_draft(draft), LIMIT_TWO)
    assert [f.code for f in findings] == ["too_many_requests"]
    assert "asks the customer for 4 things" in findings[0].message


@pytest.mark.parametrize(
    "draft",
    [
        "Hi Ada,\n\nCould you please send us a photo of the receipt, so that we can check your warranty?",
        "Hi Ada,\n\nA new pair is on its way, and the old one can stay with you. Could you confirm the address?",
        "Hallo Anna,\n\nkönnten Sie uns bitte ein Foto des Kassenbons schicken, damit wir die Garantie prüfen?",
        "Hi Ada,\n\nI am sorry, that should not happen. When did it start?",
    ],
)
def test_a_polite_single_request_is_one(draft: str) -> None:
    assert asks(draft) == 1
    assert too_many_requests(parse_draft(draft), LIMIT_TWO) == []


@pytest.mark.parametrize(
    ("draft", "count"),
    [
        ("Hi,\n\nPlease send the receipt and the serial number.", 1),  # one thing to hand over, one sentence
        ("Hi,\n\nPlease send the receipt, the serial number, and the box.", 3),
        ("Hi,\n\nPlease restart the phone and try again.", 2),
        ("Hi,\n\nAlso, check the cable.", 1),
        ("Hi,\n\nThen restart it.", 1),
        ("Hallo,\n\nbitte schicken Sie uns die Rechnung und prüfen Sie das Kabel.", 2),
        ("Hi,\n\nThanks for the photo, the receipt, and the video.", 0),  # thanks are not asks
    ],
)
def test_counting(draft: str, count: int) -> None:
    assert asks(draft) == count
