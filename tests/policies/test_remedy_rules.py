"""The reply check flags asking for what the guarantee makes unnecessary, in English and German (S8, S10)."""

from __future__ import annotations

from typing import Any

import pytest

from regard.support import services as support_services
from regard.support.reply_check import check_reply
from tests.policies.helpers import buyer, earphones_policy

pytestmark = pytest.mark.django_db

SEED_001 = (
    "Please send a video of the issue, a photo of the receipt, and try a factory reset first. "
    "Also check for liquid damage."
)
SEED_001_DE = (
    "Bitte schicken Sie uns ein Video, ein Foto vom Kassenbon und setzen Sie die Kopfhörer auf Werkseinstellung"
    " zurück. Gab es einen Wasserschaden?"
)


def _codes(draft: str, **buyer_kwargs: Any) -> list[str]:
    earphones_policy()
    customer, _ = buyer(**buyer_kwargs)
    conversation = support_services.conversation_open(
        customer=customer, channel="email", subject="No sound", via="email"
    )
    support_services.message_receive(conversation=conversation, body_text="My earphones have no sound.")
    return [f.code for f in check_reply(draft=draft, conversation=conversation, customer=customer)]


@pytest.mark.parametrize("draft", [SEED_001, SEED_001_DE])
def test_inside_the_guarantee_the_seed_001_questions_are_pointed_out(draft: str) -> None:
    assert _codes(draft, days_ago=10).count("unneeded_by_policy") >= 3


def test_inside_the_legal_guarantee_too(settings: Any) -> None:
    # 63 days: outside the 40 days, but inside the EU's two years in Germany.
    assert "unneeded_by_policy" in _codes(SEED_001, days_ago=63, country="DE", time_zone="Europe/Berlin")


def test_outside_every_guarantee_asking_is_not_flagged_by_this_rule() -> None:
    assert "unneeded_by_policy" not in _codes(SEED_001, days_ago=63, country="GB")


@pytest.mark.parametrize(
    "draft",
    [
        "We are sorry: a replacement is on its way.",
        "Your guarantee covers this; we will send new earphones.",
        "Es tut uns leid, Ersatz ist unterwegs.",
    ],
)
def test_ordinary_replies_are_not_flagged(draft: str) -> None:
    assert "unneeded_by_policy" not in _codes(draft, days_ago=10)
