"""S17: asking for a person, in any words and languages the demo speaks, is always recognised."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regard.support.handoff import WORDS, asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "OPERATOR!!",
        "operator",
        "Operator?",
        "I want to talk to a human",
        "can I speak to an agent please",
        "REPRESENTATIVE",
        "Is there a real person there?",
        "\uff2f\uff30\uff25\uff32\uff21\uff34\uff2f\uff32",  # full-width OPERATOR, as some keyboards type it
        "Ich möchte mit einem Mitarbeiter sprechen",
        "MENSCH BITTE!!!",
        "Je veux parler à un conseiller",
        "un humain svp",
        "Quiero hablar con una persona",
        "¡OPERADOR!",
        "Vorrei parlare con un operatore",
        "Ik wil een medewerker spreken",
        "Quero falar com um atendente",
        "Poproszę konsultanta",
        "chcę rozmawiać z człowiekiem",
        "Kan jag prata med en människa?",
        "オペレーターと話したい",
    ],
)
def test_asking_for_a_person_is_recognised(text: str) -> None:
    assert asks_for_person(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Where is my parcel?",
        "My earphones stopped charging after two months",
        "Wo ist mein Paket?",
        "Merci beaucoup",
        "operational issues with the app",  # "operator" only as a whole word
        "the humanitarian edition",
        "",
    ],
)
def test_ordinary_questions_are_not_a_handoff(text: str) -> None:
    assert asks_for_person(text) is None


@given(
    before=st.text(alphabet=" .,!?abcdefgh", max_size=30),
    after=st.text(alphabet=" .,!?abcdefgh", max_size=30),
    word=st.sampled_from([w for words in WORDS.values() for w in words if "*" not in w]),
    shout=st.booleans(),
)
def test_any_listed_word_in_a_sentence_hands_over(before: str, after: str, word: str, shout: bool) -> None:
    spoken = word.upper() if shout else word
    assert (
        asks_for_person(f"{before} {spoken}{after[:1] if after[:1] in ' .,!?' else ' '}{after}") is not None
    )
