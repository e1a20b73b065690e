"""The gate over random histories and clocks (hypothesis), and the scenarios it answers."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from regard.outreach.gate import (
    DEFAULT_POLICY,
    AudienceRule,
    Contact,
    ContactState,
    Kind,
    Message,
    Outcome,
    decide,
    quiet_until,
)

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)  # a Monday noon UTC
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Pacific/Auckland", "America/Los_Angeles"]
PURPOSES = ["newsletter", "offers", "service", "surveys"]
CHANNELS = ["email", "sms", "phone", "post", "push"]

times = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC))
contacts = st.builds(
    Contact,
    sent_at=times,
    kind=st.sampled_from(list(Kind)),
    purpose=st.sampled_from(PURPOSES),
    channel=st.sampled_from(CHANNELS),
    content_key=st.text("abcdef", min_size=1, max_size=3),
)
states = st.builds(
    ContactState,
    consent=st.dictionaries(st.tuples(st.sampled_from(PURPOSES), st.sampled_from(CHANNELS)), st.booleans()),
    has_address=st.booleans(),
    suppression_reason=st.one_of(st.none(), st.sampled_from(["hard_bounce", "complaint", "erased"])),
    chosen_channels=st.frozensets(st.sampled_from(CHANNELS), max_size=2),
    excluded_topics=st.frozensets(st.sampled_from(["solar", "diet", "torches"]), max_size=2),
    max_messages_per_week=st.one_of(st.none(), st.integers(0, 5)),
    paused_until=st.one_of(st.none(), times),
    time_zone=st.sampled_from(ZONES),
    last_web_visit_at=st.one_of(st.none(), times),
    history=st.lists(contacts, max_size=12),
)
messages = st.builds(
    Message,
    kind=st.sampled_from(list(Kind)),
    purpose=st.sampled_from(PURPOSES),
    channel=st.sampled_from(CHANNELS),
    content_key=st.text("abcdef", min_size=1, max_size=3),
    topics=st.frozensets(st.sampled_from(["solar", "diet", "torches", "books"]), max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(message=messages, state=states, now=times)
def test_every_decision_obeys_the_hard_rules(message: Message, state: ContactState, now: datetime) -> None:
    decision = decide(message, state, now)
    assert decision == decide(message, state, now)  # pure: same facts, same answer
    if decision.outcome is Outcome.ALLOW:
        assert not decision.reasons
        assert state.suppression_reason is None
        assert state.has_address
        assert all(c.content_key != message.content_key for c in state.history)
        if message.purpose != "service":
            assert state.consent.get((message.purpose, message.channel)) is True
        if message.kind is Kind.MARKETING:
            assert not (message.topics & state.excluded_topics)
            assert not state.chosen_channels or message.channel in state.chosen_channels
            assert not state.paused_until or state.paused_until <= now
            assert quiet_until(now, state.time_zone, time(21), time(8)) is None
    elif decision.outcome is Outcome.HOLD:
        assert decision.hold_until is not None
        assert decision.hold_until > now
        assert decision.reasons
    else:
        assert decision.reasons


@settings(max_examples=150, deadline=None)
@given(
    state=states,
    start=times,
    steps=st.lists(st.integers(min_value=1, max_value=36 * 60), min_size=5, max_size=60),
    zone=st.sampled_from(ZONES),
)
def test_a_runaway_sender_obeying_the_gate_never_breaks_the_caps(state, start, steps, zone) -> None:
    """S1/S12: however often a campaign engine asks, the person gets at most the caps."""
    state = ContactState(
        consent={("newsletter", "email"): True, ("offers", "email"): True},
        time_zone=zone,
        max_messages_per_week=state.max_messages_per_week or None,
    )
    sent: list[Contact] = []
    now = start
    for index, minutes in enumerate(steps):
        now += timedelta(minutes=minutes)
        purpose = "offers" if index % 2 else "newsletter"
        message = Message(Kind.MARKETING, purpose, "email", content_key=f"c{index}")
        current = ContactState(**{**state.__dict__, "history": tuple(sent)})
        if decide(message, current, now).allowed:
            sent.append(Contact(now, Kind.MARKETING, purpose, "email", f"c{index}"))
    weekly = min(DEFAULT_POLICY.marketing_per_week, state.max_messages_per_week or 99)
    for contact in sent:
        window = [c for c in sent if contact.sent_at - timedelta(days=7) < c.sent_at <= contact.sent_at]
        day = [c for c in sent if contact.sent_at - timedelta(days=1) < c.sent_at <= contact.sent_at]
        assert len(window) <= weekly
        assert len(day) <= DEFAULT_POLICY.marketing_per_day
        assert quiet_until(contact.sent_at, zone, time(21), time(8)) is None


@settings(max_examples=200, deadline=None)
@given(state=states, now=times)
def test_a_hold_reopens_when_it_says(state: ContactState, now: datetime) -> None:
    """Asking again at hold_until never gets the same hold reason with the same deadline."""
    message = Message(Kind.MARKETING, "newsletter", "email", content_key="zzzz")
    first = decide(message, state, now)
    if first.outcome is Outcome.HOLD:
        assert first.hold_until is not None
        later = decide(message, state, first.hold_until)
        assert later.outcome is not Outcome.HOLD or later.hold_until != first.hold_until


def _state(**changes) -> ContactState:
    base = {
        "consent": {("newsletter", "email"): True, ("offers", "email"): True},
        "time_zone": "Europe/Berlin",
    }
    return ContactState(**(base | changes))


def test_service_message_needs_no_marketing_consent_but_respects_suppression() -> None:
    service = Message(Kind.SERVICE, "service", "email", content_key="receipt-1")
    assert decide(service, ContactState(), NOW).allowed
    dropped = decide(service, ContactState(suppression_reason="hard_bounce"), NOW)
    assert dropped.codes() == ["suppressed"]


def test_withdrawn_consent_drops_and_says_so() -> None:
    decision = decide(
        Message(Kind.MARKETING, "newsletter", "email", "n1"),
        _state(consent={("newsletter", "email"): False}),
        NOW,
    )
    assert decision.outcome is Outcome.DROP
    assert "withdrawn" in decision.reasons[0].detail


def test_co_op_resident_is_not_offered_solar_panels() -> None:
    """S4: excluded topics and audience rules."""
    solar = Message(
        Kind.MARKETING,
        "offers",
        "email",
        "solar-1",
        topics=frozenset({"solar"}),
        audience=AudienceRule(countries=frozenset({"DE"})),
    )
    decision = decide(solar, _state(excluded_topics=frozenset({"solar"}), country="US"), NOW)
    assert set(decision.codes()) == {"topic_excluded", "audience"}


def test_web_visit_cool_off_holds_marketing_for_a_day() -> None:
    """S16: a web visit is not a reason to pounce."""
    visit = NOW - timedelta(minutes=30)
    decision = decide(
        Message(Kind.MARKETING, "newsletter", "email", "n1"), _state(last_web_visit_at=visit), NOW
    )
    assert decision.outcome is Outcome.HOLD
    assert decision.hold_until == visit + timedelta(hours=24)


def test_quiet_hours_are_the_customers_own_night() -> None:
    night_in_tokyo = datetime(2024, 5, 6, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo
    decision = decide(
        Message(Kind.MARKETING, "newsletter", "email", "n1"), _state(time_zone="Asia/Tokyo"), night_in_tokyo
    )
    assert decision.codes() == ["quiet_hours"]
    assert decision.hold_until == datetime(2024, 5, 6, 23, 0, tzinfo=UTC)  # 08:00 next day in Tokyo


def test_same_newsletter_twice_is_dropped() -> None:
    """S12: one newsletter, one copy."""
    sent = Contact(NOW - timedelta(days=9), Kind.MARKETING, "newsletter", "email", "nl-2024-05")
    decision = decide(
        Message(Kind.MARKETING, "newsletter", "email", "nl-2024-05"), _state(history=[sent]), NOW
    )
    assert decision.codes() == ["duplicate_content"]


def test_customers_tighter_weekly_choice_wins_and_a_hold_past_expiry_is_a_drop() -> None:
    sent = Contact(NOW - timedelta(days=2), Kind.MARKETING, "newsletter", "sms", "other")
    message = Message(Kind.MARKETING, "newsletter", "email", "n1", expires_at=NOW + timedelta(days=1))
    held = decide(message, _state(max_messages_per_week=1, history=[sent]), NOW)
    assert held.outcome is Outcome.DROP
    assert held.codes() == ["frequency_week", "expired"]
