"""The entitlement as a pure function: windows, the purchase day, leap days, DST, the law (S10)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from regard.policies.evaluation import PolicyTerms, Remedy, StatutoryTerms, Window, add_months, evaluate

EARPHONES = PolicyTerms(
    name="Earphones",
    category="earphones",
    version=3,
    windows=(
        Window(0, 40, (Remedy("replacement"), Remedy("refund"))),
        Window(41, 365, (Remedy("repair"), Remedy("credit", Decimal("10.00"), "EUR"))),
        Window(366, None, (Remedy("goodwill", Decimal("20.00"), "EUR"),)),
    ),
    wording={"en": "Outside the guarantee; here is a 10 € credit.", "de": "Außerhalb der Garantie."},
)
EU = StatutoryTerms(country="DE", label="EU legal guarantee", months=24, remedies=("repair", "replacement"))
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Pacific/Auckland", "Asia/Kolkata", "Pacific/Kiritimati"]


def _evaluate(purchased_at: datetime, now: datetime, *, zone: str = "Europe/Berlin", **kwargs: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "product": "Aria",
        "category": "earphones",
        "terms": EARPHONES,
        "statutory": None,
    }
    values |= kwargs
    return evaluate(purchased_at=purchased_at, time_zone=zone, now=now, **values)  # type: ignore[arg-type]


def test_the_seed_001_earphones_two_months_old() -> None:
    result = _evaluate(
        datetime(2026, 9, 30, 10, tzinfo=UTC),
        datetime(2026, 12, 2, 12, tzinfo=UTC),
        statutory=EU,
        language="de",
    )
    assert result.days_since_purchase == 63
    assert result.summary == (
        "Bought 30 Sep 2026, 63 days ago. Earphones: commercial guarantee 40 days — ended 9 Nov 2026."
        " Now in days 41–365: repair or a goodwill credit of 10.00 EUR."
        " EU legal guarantee 2 years — applies until 29 Sep 2028: repair or replacement."
    )
    assert [(r.kind, r.source) for r in result.remedies] == [
        ("repair", "policy"),
        ("credit", "policy"),
        ("replacement", "law"),
    ]
    assert result.allows("credit", Decimal("10.00"))
    assert not result.allows("credit", Decimal("10.01"))
    assert not result.allows("refund")
    assert result.policy_version == 3
    assert result.customer_wording == "Außerhalb der Garantie."


@given(
    start=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=0, max_value=2000),
    zone=st.sampled_from(ZONES),
)
def test_exactly_one_window_applies_and_its_edges_are_inclusive(
    start: datetime, days: int, zone: str
) -> None:
    local = start.astimezone(ZoneInfo(zone))
    # Noon of the day `days` after the purchase day, on the customer's own calendar.
    then = datetime.combine(
        local.date() + timedelta(days=days), local.time().replace(hour=12), ZoneInfo(zone)
    )
    result = _evaluate(start, then, zone=zone)
    assert result.days_since_purchase == days
    expected = next(
        w for w in EARPHONES.windows if w.from_day <= days and (w.to_day is None or days <= w.to_day)
    )
    assert result.window == expected
    assert result.is_in_guarantee == (days <= 40)
    assert result.guarantee_ends_on == local.date() + timedelta(days=40)


@given(zone=st.sampled_from(ZONES), hour=st.integers(min_value=0, max_value=23))
def test_the_day_of_purchase_is_day_zero_in_the_customers_zone(zone: str, hour: int) -> None:
    tz = ZoneInfo(zone)
    bought = datetime(2026, 3, 28, hour, 30, tzinfo=tz)
    late_that_day = datetime(2026, 3, 28, 23, 59, tzinfo=tz)
    assert _evaluate(bought, late_that_day, zone=zone).days_since_purchase == 0
    assert _evaluate(bought, late_that_day + timedelta(minutes=2), zone=zone).days_since_purchase == 1


def test_the_guarantee_edge_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Bought on 15 Mar; clocks go forward on 29 Mar: day 40 is still 24 Apr all day long.
    bought = datetime(2026, 3, 15, 23, 30, tzinfo=berlin)
    assert _evaluate(bought, datetime(2026, 4, 24, 23, 59, tzinfo=berlin)).is_in_guarantee
    assert not _evaluate(bought, datetime(2026, 4, 25, 0, 1, tzinfo=berlin)).is_in_guarantee


def test_a_purchase_in_the_customers_evening_counts_from_their_date_not_utcs() -> None:
    # 23:30 in New York on 1 Mar is 2 Mar in UTC; the customer bought on 1 Mar.
    bought = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
    result = _evaluate(bought, datetime(2026, 4, 11, 3, 0, tzinfo=UTC), zone="America/New_York")
    assert result.purchased_on == date(2026, 3, 1)
    assert result.days_since_purchase == 40
    assert result.is_in_guarantee


def test_a_leap_day_purchase_keeps_its_legal_guarantee_to_the_end_of_february() -> None:
    assert add_months(date(2024, 2, 29), 24) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    bought = datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert _evaluate(bought, datetime(2026, 2, 27, 12, tzinfo=UTC), zone="UTC", statutory=EU).is_statutory
    assert not _evaluate(bought, datetime(2026, 2, 28, 12, tzinfo=UTC), zone="UTC", statutory=EU).is_statutory


@given(
    days=st.integers(min_value=0, max_value=1500),
    months=st.sampled_from([6, 12, 24, 36]),
    country=st.sampled_from(["DE", "FR", "PT", "SE"]),
)
def test_the_law_outranks_a_shorter_policy_and_is_shown_as_such(days: int, months: int, country: str) -> None:
    law = StatutoryTerms(
        country=country, label="Legal guarantee", months=months, remedies=("repair", "replacement")
    )
    bought = datetime(2026, 1, 10, 12, tzinfo=UTC)
    result = _evaluate(bought, bought + timedelta(days=days), zone="UTC", statutory=law)
    inside_law = bought.date() + timedelta(days=days) < add_months(bought.date(), months)
    assert result.is_statutory == inside_law
    kinds = {r.kind for r in result.remedies}
    if inside_law:
        assert {"repair", "replacement"} <= kinds
        assert any(
            sentence.startswith("Legal guarantee") and "applies" in sentence for sentence in result.reasoning
        )
    else:
        assert all(r.source == "policy" for r in result.remedies)


def test_no_policy_is_said_plainly() -> None:
    result = _evaluate(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC), terms=None)
    assert result.remedies == ()
    assert "Earphones: no remedy policy on file." in result.reasoning


FROM_DELIVERY = dataclasses.replace(EARPHONES, counted_from="delivery")


def test_a_policy_counted_from_delivery_starts_its_windows_when_the_goods_arrived() -> None:
    # Bought 30 Sep, delivered 10 Oct: on 17 Nov the 40 days from purchase are over, from
    # delivery there are two left.
    bought, delivered, now = (
        datetime(2026, 9, 30, 10, tzinfo=UTC),
        datetime(2026, 10, 10, 15, tzinfo=UTC),
        datetime(2026, 11, 17, 12, tzinfo=UTC),
    )
    from_purchase = _evaluate(bought, now, delivered_at=delivered)
    from_delivery = _evaluate(bought, now, terms=FROM_DELIVERY, delivered_at=delivered, statutory=EU)
    assert not from_purchase.is_in_guarantee
    assert from_purchase.counted_from == "purchase"
    assert from_delivery.is_in_guarantee
    assert (from_delivery.counted_from, from_delivery.window_day) == ("delivery", 38)
    assert from_delivery.days_since_purchase == 48
    assert from_delivery.guarantee_ends_on == date(2026, 11, 19)
    assert from_delivery.summary.startswith(
        "Bought 30 Sep 2026, 48 days ago. Delivered 10 Oct 2026, 38 days ago."
        " Earphones: commercial guarantee 40 days from delivery — until 19 Nov 2026 (2 days left)."
    )
    # The EU's legal guarantee runs from delivery too.
    assert from_delivery.statutory_ends_on == date(2028, 10, 9)
    assert from_delivery.allows("refund")


def test_counted_from_delivery_without_a_delivery_date_counts_from_the_purchase_and_says_so() -> None:
    bought, now = datetime(2026, 9, 30, 10, tzinfo=UTC), datetime(2026, 11, 17, 12, tzinfo=UTC)
    result = _evaluate(bought, now, terms=FROM_DELIVERY)
    assert (result.counted_from, result.window_day, result.is_in_guarantee) == ("purchase", 48, False)
    assert "no delivery date on file, so from the purchase" in result.summary


def test_a_limit_in_one_currency_does_not_allow_an_amount_in_another() -> None:
    result = _evaluate(datetime(2026, 9, 30, 10, tzinfo=UTC), datetime(2026, 12, 2, 12, tzinfo=UTC))
    assert result.allows("credit", Decimal("10.00"), "EUR")
    assert result.allows("credit", Decimal("10.00"), "eur")
    assert not result.allows("credit", Decimal("10.00"), "GBP")
