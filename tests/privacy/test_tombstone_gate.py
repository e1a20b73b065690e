"""The gate and the tombstone (Art. 17): an erased address gets no marketing until it consents
again with proof, and service messages (support answers) still go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from regard.outreach.gate import ContactState, Kind, Message, Outcome, decide

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)  # a Monday noon UTC
ERASED = NOW - timedelta(days=3)
NEWSLETTER = Message(Kind.MARKETING, "newsletter", "email", "campaign:1")
SERVICE = Message(Kind.SERVICE, "service", "email", "reply:1")
CONSENTED = {("newsletter", "email"): True}


def test_marketing_to_an_erased_address_is_dropped_even_with_consent_in_force() -> None:
    decision = decide(NEWSLETTER, ContactState(consent=CONSENTED, erased_at=ERASED), NOW)
    assert decision.outcome is Outcome.DROP
    assert decision.codes() == ["erased"]


def test_a_consent_with_proof_since_the_erasure_lifts_the_stop_for_that_purpose_only() -> None:
    state = ContactState(
        consent={**CONSENTED, ("offers", "email"): True},
        erased_at=ERASED,
        consented_since_erasure=frozenset({("newsletter", "email")}),
    )
    assert decide(NEWSLETTER, state, NOW).outcome is Outcome.ALLOW
    offers = Message(Kind.MARKETING, "offers", "email", "campaign:2")
    assert "erased" in decide(offers, state, NOW).codes()


def test_a_support_answer_to_an_erased_address_still_goes() -> None:
    assert decide(SERVICE, ContactState(erased_at=ERASED), NOW).outcome is Outcome.ALLOW


@given(
    purpose=st.sampled_from(["newsletter", "offers", "surveys"]),
    channel=st.sampled_from(["email", "sms", "post"]),
    consented=st.frozensets(
        st.tuples(
            st.sampled_from(["newsletter", "offers", "surveys"]), st.sampled_from(["email", "sms", "post"])
        )
    ),
)
def test_marketing_to_an_erased_address_goes_only_with_a_consent_since(
    purpose: str, channel: str, consented: frozenset[tuple[str, str]]
) -> None:
    message = Message(Kind.MARKETING, purpose, channel, "campaign:3")
    state = ContactState(
        consent={(purpose, channel): True}, erased_at=ERASED, consented_since_erasure=consented
    )
    assert ("erased" in decide(message, state, NOW).codes()) == ((purpose, channel) not in consented)
