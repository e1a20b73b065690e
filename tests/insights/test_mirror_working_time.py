"""The mirror walks a calendar once per page; its figures must equal the support desk's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from regard.insights.selectors.mirror import RememberedCalendar
from regard.support.working_time import WorkingCalendar, working_minutes_between

START = datetime(2026, 3, 20, 6, 0, tzinfo=UTC)  # a DST change, Easter and May Day ahead
CALENDAR = WorkingCalendar.from_business_hours(
    {
        "mon": [["09:00", "12:00"], ["13:00", "17:30"]],
        "tue": [["22:00", "02:00"]],
        "fri": [["08:00", "16:00"]],
    },
    time_zone="Europe/Berlin",
    country="DE",
)
moments = st.integers(min_value=0, max_value=90 * 24 * 60).map(lambda m: START + timedelta(minutes=m))


@given(st.lists(st.tuples(moments, moments), min_size=1, max_size=30))
def test_remembered_calendar_gives_the_same_working_minutes(pairs: list[tuple[datetime, datetime]]) -> None:
    remembered = cast(WorkingCalendar, RememberedCalendar(CALENDAR, START))
    for a, b in pairs:
        assert working_minutes_between(a, b, remembered) == working_minutes_between(a, b, CALENDAR)


def test_a_moment_before_the_remembered_start_is_asked_of_the_calendar() -> None:
    remembered = cast(WorkingCalendar, RememberedCalendar(CALENDAR, START))
    early = START - timedelta(days=10)
    assert working_minutes_between(early, START, remembered) == working_minutes_between(
        early, START, CALENDAR
    )
