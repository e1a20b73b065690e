"""Working-time arithmetic: weekends, public holidays, DST and midnight (C4, S14)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regard.errors import InvalidInput
from regard.support.working_time import (
    WEEKDAYS,
    WorkingCalendar,
    add_working_minutes,
    working_minutes_between,
)

OFFICE = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")


def calendar(country: str = "", zone: str = "Europe/Berlin", **hours: list[list[str]]) -> WorkingCalendar:
    return WorkingCalendar.from_business_hours(hours or OFFICE, time_zone=zone, country=country)


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


# --- the scenarios ------------------------------------------------------------------------


def test_complaint_on_friday_before_whit_monday_in_germany_is_due_tuesday() -> None:
    # S14: one working day (8 h) from Friday 16:00; Monday 25 May 2026 is Pfingstmontag.
    friday = local(BERLIN, 2026, 5, 22, 16, 0)
    due = add_working_minutes(friday, 480, calendar("DE"))
    assert due == local(BERLIN, 2026, 5, 26, 16, 0)
    assert working_minutes_between(friday, due, calendar("DE")) == 480
    # Without the holiday calendar the same complaint would be due on the Monday.
    assert add_working_minutes(friday, 480, calendar("")) == local(BERLIN, 2026, 5, 25, 16, 0)


def test_complaint_on_friday_before_a_bank_holiday_in_britain_is_due_tuesday() -> None:
    # Monday 4 May 2026 is the Early May bank holiday in the United Kingdom.
    cal = calendar("GB", zone="Europe/London")
    friday = local(LONDON, 2026, 5, 1, 16, 0)
    assert cal.closed_reason(date(2026, 5, 4))
    assert add_working_minutes(friday, 480, cal) == local(LONDON, 2026, 5, 5, 16, 0)


def test_a_weekend_does_not_count() -> None:
    friday = local(BERLIN, 2026, 6, 12, 16, 30)
    monday = local(BERLIN, 2026, 6, 15, 9, 30)
    assert working_minutes_between(friday, monday, calendar("DE")) == 60
    assert add_working_minutes(friday, 30, calendar("DE")) == local(BERLIN, 2026, 6, 12, 17, 0)
    assert add_working_minutes(friday, 31, calendar("DE")) == local(BERLIN, 2026, 6, 15, 9, 1)


def test_clock_change_over_the_weekend_keeps_office_hours_on_the_wall_clock() -> None:
    # Clocks go forward on Sunday 29 March 2026: Friday 16:00 CET is 15:00 UTC, Monday 16:00 CEST is 14:00 UTC.
    friday = local(BERLIN, 2026, 3, 27, 16, 0)
    due = add_working_minutes(friday, 480, calendar("DE"))
    assert due == datetime(2026, 3, 30, 14, 0, tzinfo=UTC)
    assert due.astimezone(BERLIN).time() == time(16, 0)
    # And back again on Sunday 25 October 2026.
    autumn = add_working_minutes(local(BERLIN, 2026, 10, 23, 16, 0), 480, calendar("DE"))
    assert autumn == datetime(2026, 10, 26, 15, 0, tzinfo=UTC)


def test_received_at_night_or_on_a_sunday_starts_counting_at_opening() -> None:
    cal = calendar("DE")
    assert add_working_minutes(local(BERLIN, 2026, 6, 14, 23, 0), 60, cal) == local(
        BERLIN, 2026, 6, 15, 10, 0
    )
    assert add_working_minutes(local(BERLIN, 2026, 6, 16, 3, 0), 60, cal) == local(BERLIN, 2026, 6, 16, 10, 0)
    assert (
        working_minutes_between(local(BERLIN, 2026, 6, 13, 0, 0), local(BERLIN, 2026, 6, 14, 23, 59), cal)
        == 0
    )


def test_a_lunch_break_is_not_working_time() -> None:
    split = {key: [["13:00", "17:00"], ["08:00", "12:00"]] for key in ("mon", "tue", "wed", "thu", "fri")}
    cal = calendar(zone="Europe/Berlin", **split)
    start = local(BERLIN, 2026, 6, 15, 11, 30)
    assert add_working_minutes(start, 60, cal) == local(BERLIN, 2026, 6, 15, 13, 30)
    assert working_minutes_between(start, local(BERLIN, 2026, 6, 15, 14, 0), cal) == 90


def test_a_night_shift_runs_past_midnight_and_merges_with_the_next_morning() -> None:
    # Monday 22:00 to Tuesday 02:00, and Tuesday from 01:00: one stretch 22:00–05:00.
    cal = calendar(zone="UTC", mon=[["22:00", "02:00"]], tue=[["01:00", "05:00"]])
    monday = datetime(2026, 6, 15, 21, 0, tzinfo=UTC)
    assert add_working_minutes(monday, 60, cal) == datetime(2026, 6, 15, 23, 0, tzinfo=UTC)
    assert add_working_minutes(monday, 7 * 60, cal) == datetime(2026, 6, 16, 5, 0, tzinfo=UTC)
    assert working_minutes_between(monday, datetime(2026, 6, 16, 12, 0, tzinfo=UTC), cal) == 7 * 60
    assert cal.is_open(datetime(2026, 6, 16, 1, 30, tzinfo=UTC))
    assert not cal.is_open(datetime(2026, 6, 16, 5, 0, tzinfo=UTC))


def test_an_hour_skipped_or_repeated_by_the_clock() -> None:
    # A night service 00:00–04:00 in Berlin: 3 real hours when clocks spring forward, 5 when they fall back.
    night = {key: [["00:00", "04:00"]] for key in WEEKDAYS}
    cal = calendar(zone="Europe/Berlin", **night)
    assert (
        working_minutes_between(local(BERLIN, 2026, 3, 29, 0, 0), local(BERLIN, 2026, 3, 29, 5, 0), cal)
        == 180
    )
    assert (
        working_minutes_between(local(BERLIN, 2026, 10, 25, 0, 0), local(BERLIN, 2026, 10, 25, 5, 0), cal)
        == 300
    )
    # A wall time shown twice opens at its first showing and closes at its last.
    closes_in_repeat = calendar(zone="Europe/Berlin", sun=[["00:00", "02:30"]])
    assert closes_in_repeat.intervals_on(date(2026, 10, 25))[0][1] == datetime(
        2026, 10, 25, 1, 30, tzinfo=UTC
    )
    opens_in_repeat = calendar(zone="Europe/Berlin", sun=[["02:30", "05:00"]])
    assert (
        working_minutes_between(
            local(BERLIN, 2026, 10, 25, 0, 0), local(BERLIN, 2026, 10, 25, 6, 0), opens_in_repeat
        )
        == 210
    )
    # Opening at a wall time the clock skips opens when the clock jumps past it (03:00 CEST).
    skipped = calendar(zone="Europe/Berlin", sun=[["02:30", "06:00"]])
    assert skipped.intervals_on(date(2026, 3, 29))[0][0] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_extra_closed_dates_close_the_whole_day() -> None:
    cal = WorkingCalendar.from_business_hours(
        OFFICE, time_zone="Europe/Berlin", closed_dates=[date(2026, 12, 24)]
    )
    assert add_working_minutes(local(BERLIN, 2026, 12, 23, 16, 0), 120, cal) == local(
        BERLIN, 2026, 12, 25, 10, 0
    )


def test_regional_holidays_follow_the_subdivision() -> None:
    # Epiphany (6 January 2027, a Wednesday) is a holiday in Bavaria, not in Berlin.
    bavaria = WorkingCalendar.from_business_hours(
        OFFICE, time_zone="Europe/Berlin", country="DE", subdivision="BY"
    )
    assert bavaria.closed_reason(date(2027, 1, 6))
    assert not calendar("DE").closed_reason(date(2027, 1, 6))


@pytest.mark.parametrize(
    ("hours", "zone", "country", "field"),
    [
        ({"mon": [["09:00", "17:00"]], "funday": []}, "UTC", "", "business_hours.funday"),
        ({"mon": [["9am", "17:00"]]}, "UTC", "", "business_hours.mon[0]"),
        ({"mon": [["09:00", "09:00"]]}, "UTC", "", "business_hours.mon[0]"),
        ({"mon": [["24:00", "02:00"]]}, "UTC", "", "business_hours.mon[0]"),
        ({"mon": [["09:00", "24:30"]]}, "UTC", "", "business_hours.mon[0]"),
        ({"mon": [["09:00"]]}, "UTC", "", "business_hours.mon[0]"),
        ({"mon": "09:00-17:00"}, "UTC", "", "business_hours.mon"),
        ({"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}, "UTC", "", "business_hours.mon"),
        ({"sat": []}, "UTC", "", "business_hours"),
        (OFFICE, "Mars/Olympus_Mons", "", "time_zone"),
        (OFFICE, "UTC", "XX", "country"),
    ],
)
def test_bad_business_hours_name_the_field(hours: dict, zone: str, country: str, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        WorkingCalendar.from_business_hours(hours, time_zone=zone, country=country)
    assert error.value.field == field


def test_naive_times_and_negative_minutes_are_refused() -> None:
    with pytest.raises(InvalidInput):
        add_working_minutes(datetime(2026, 1, 5, 9, 0), 10, calendar())
    with pytest.raises(InvalidInput):
        add_working_minutes(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), -1, calendar())


# --- properties -----------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


@st.composite
def calendars(draw: st.DrawFn, *, overnight: bool = True) -> WorkingCalendar:
    """Random weekly hours (several intervals a day, some past midnight), zones with DST, holidays."""
    hours: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        lowest = 0 if overnight else 4 * 60  # clock changes happen between 00:00 and 04:00
        cuts = sorted(draw(st.sets(st.integers(lowest // 15, 24 * 4), max_size=6)))
        pairs = [(cuts[i] * 15, cuts[i + 1] * 15) for i in range(0, len(cuts) - 1, 2)]
        intervals = [[f"{s // 60:02d}:{s % 60:02d}", f"{e // 60:02d}:{e % 60:02d}"] for s, e in pairs]
        if overnight and intervals and intervals[-1][1] == "24:00" and draw(st.booleans()):
            intervals[-1][1] = "02:30"  # run past midnight instead of stopping at it
        hours[day] = intervals
    if not any(hours.values()):
        hours["wed"] = [["10:00", "11:00"]]
    return WorkingCalendar.from_business_hours(
        hours,
        time_zone=draw(st.sampled_from(ZONES)),
        country=draw(st.sampled_from(["", "DE", "GB", "US"])),
        closed_dates=draw(st.sets(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=5)),
    )


starts = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), start=starts, minutes=st.integers(0, 20_000))
def test_between_start_and_added_time_is_exactly_the_minutes_added(
    cal: WorkingCalendar, start: datetime, minutes: int
) -> None:
    assert working_minutes_between(start, add_working_minutes(start, minutes, cal), cal) == minutes


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), start=starts, minutes=st.integers(1, 20_000))
def test_added_time_ends_in_working_time_never_in_closed_time(
    cal: WorkingCalendar, start: datetime, minutes: int
) -> None:
    due = add_working_minutes(start, minutes, cal)
    assert due > start
    # The last instant before the due moment was working time (the due moment may be a closing time).
    assert cal.is_open(due - timedelta(microseconds=1))


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), start=starts, a=st.integers(0, 10_000), b=st.integers(0, 10_000))
def test_adding_more_never_ends_earlier(cal: WorkingCalendar, start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert add_working_minutes(start, low, cal) <= add_working_minutes(start, high, cal)
    # Adding in two steps is adding once.
    assert add_working_minutes(add_working_minutes(start, low, cal), high - low, cal) == add_working_minutes(
        start, high, cal
    )


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), a=starts, b=starts)
def test_between_is_antisymmetric_and_bounded_by_wall_time(
    cal: WorkingCalendar, a: datetime, b: datetime
) -> None:
    forward = working_minutes_between(a, b, cal)
    assert forward == -working_minutes_between(b, a, cal)
    assert abs(forward) <= abs((b - a).total_seconds()) // 60


def _open_by_wall_clock(cal: WorkingCalendar, instant: datetime) -> bool:
    """An independent reading: look at the office clock and the day it shows."""
    wall = instant.astimezone(cal.zone)
    minute = wall.hour * 60 + wall.minute
    return cal.is_working_day(wall.date()) and any(
        start <= minute < end for start, end in cal.weekly[wall.weekday()]
    )


@settings(max_examples=60, deadline=None)
@given(
    cal=calendars(overnight=False),
    start=starts.map(lambda t: t.replace(second=0, microsecond=0)),
    span=st.integers(0, 2 * 24 * 60),
)
def test_counting_agrees_with_reading_the_wall_clock_minute_by_minute(
    cal: WorkingCalendar, start: datetime, span: int
) -> None:
    expected = sum(_open_by_wall_clock(cal, start + timedelta(minutes=m)) for m in range(span))
    assert working_minutes_between(start, start + timedelta(minutes=span), cal) == expected
