"""Working-time arithmetic for SLAs (C4, S14): business hours, a time zone, public holidays.

Pure functions of a ``WorkingCalendar``; nothing here reads the database or the clock.

Opening hours are wall-clock times in the team's zone, so a Monday 09:00 after a DST
change is still 09:00 on the office clock. An interval whose end is earlier than its
start runs past midnight into the next day ("22:00"–"02:00"); "24:00" ends at midnight.
A wall time the clock skips (spring forward) is read as the moment the clock jumps past
it; a wall time the clock shows twice (fall back) opens at its first showing and closes
at its last, so an office never loses working time to a repeated hour.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays

from regard.errors import InvalidInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
# A calendar closed for longer than this in a row is treated as a configuration error,
# not searched for ever.
MAX_CLOSED_DAYS = 3 * 366
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")

# (start, end) in minutes from the local midnight of the day it belongs to; end may pass
# MINUTES_PER_DAY for an interval that runs into the next day.
Interval = tuple[int, int]


@dataclass(frozen=True)
class WorkingCalendar:
    """When a team works: weekly hours in a zone, minus public holidays and closed dates."""

    time_zone: str
    # Seven tuples (Monday first) of sorted, non-overlapping intervals.
    weekly: tuple[tuple[Interval, ...], ...]
    country: str = ""
    subdivision: str = ""
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def from_business_hours(
        cls,
        business_hours: Mapping[str, Sequence[Sequence[str]]],
        *,
        time_zone: str,
        country: str = "",
        subdivision: str = "",
        closed_dates: Iterable[date] = (),
        field_name: str = "business_hours",
    ) -> WorkingCalendar:
        """Build a calendar from ``{"mon": [["09:00", "12:00"], ["13:00", "17:00"]], ...}``.

        Days left out are closed. Bad input raises ``InvalidInput`` naming the field.
        """
        if not isinstance(business_hours, Mapping):
            raise InvalidInput(f"{field_name}: an object with days mon…sun.", field=field_name)
        unknown = sorted(set(business_hours) - set(WEEKDAYS))
        if unknown:
            raise InvalidInput(
                f"{field_name}.{unknown[0]}: not a day (use {', '.join(WEEKDAYS)}).",
                field=f"{field_name}.{unknown[0]}",
            )
        weekly = tuple(_parse_day(business_hours.get(day) or [], f"{field_name}.{day}") for day in WEEKDAYS)
        if not any(weekly):
            raise InvalidInput(f"{field_name}: at least one day needs opening hours.", field=field_name)
        return cls(
            time_zone=clean_time_zone(time_zone),
            weekly=weekly,
            country=clean_country(country, subdivision),
            subdivision=subdivision.strip().upper() if country else "",
            closed_dates=frozenset(closed_dates),
        )

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.time_zone)

    def closed_reason(self, day: date) -> str:
        """Why a date is closed as a whole ("" if it is not a holiday or an extra closed date)."""
        if day in self.closed_dates:
            return "closed"
        if self.country:
            return _holiday_names(self.country, self.subdivision, day.year).get(day, "")
        return ""

    def is_working_day(self, day: date) -> bool:
        return bool(self.weekly[day.weekday()]) and not self.closed_reason(day)

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals that start on a local date, as aware UTC datetimes."""
        if not self.is_working_day(day):
            return []
        return [_day_interval(self.time_zone, day, start, end) for start, end in self.weekly[day.weekday()]]

    def open_intervals(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Merged open intervals in time order, from the one containing ``since`` onwards."""
        since = _aware(since, "since")
        day = since.astimezone(self.zone).date() - timedelta(days=1)
        pending: tuple[datetime, datetime] | None = None
        closed_run = 0
        while True:
            intervals = self.intervals_on(day)
            closed_run = 0 if intervals else closed_run + 1
            if closed_run > MAX_CLOSED_DAYS:
                raise InvalidInput(
                    f"business_hours: closed for more than {MAX_CLOSED_DAYS} days in a row after {day}.",
                    field="business_hours",
                )
            for start, end in intervals:
                if pending is not None and start <= pending[1]:
                    pending = (pending[0], max(pending[1], end))
                    continue
                if pending is not None and pending[1] > since:
                    yield pending
                pending = (start, end)
            day += timedelta(days=1)

    def is_open(self, instant: datetime) -> bool:
        """Is ``instant`` working time? Opening moments are open, closing moments are not."""
        instant = _aware(instant, "instant")
        for start, end in self.open_intervals(instant):
            return start <= instant < end
        return False  # pragma: no cover - open_intervals never ends


def add_working_minutes(start: datetime, minutes: int, calendar: WorkingCalendar) -> datetime:
    """The earliest moment by which ``minutes`` of working time have passed since ``start``.

    ``minutes == 0`` returns ``start`` itself (in UTC). The answer is an aware UTC datetime
    that lies in working time or at the closing moment of an interval.
    """
    start = _aware(start, "start").astimezone(UTC)
    if minutes < 0:
        raise InvalidInput("minutes: must not be negative.", field="minutes")
    remaining = timedelta(minutes=minutes)
    if not remaining:
        return start
    for open_at, close_at in calendar.open_intervals(start):
        begin = max(open_at, start)
        available = close_at - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover - open_intervals never ends


def working_minutes_between(a: datetime, b: datetime, calendar: WorkingCalendar) -> int:
    """Whole working minutes from ``a`` to ``b`` (negative when ``b`` is earlier)."""
    a, b = _aware(a, "a").astimezone(UTC), _aware(b, "b").astimezone(UTC)
    if b < a:
        return -working_minutes_between(b, a, calendar)
    return int(working_time_between(a, b, calendar).total_seconds() // 60)


def working_time_between(a: datetime, b: datetime, calendar: WorkingCalendar) -> timedelta:
    """Working time from ``a`` to ``b`` as an exact duration (zero when ``b`` is not later)."""
    a, b = _aware(a, "a").astimezone(UTC), _aware(b, "b").astimezone(UTC)
    total = timedelta()
    if b <= a:
        return total
    for open_at, close_at in calendar.open_intervals(a):
        if open_at >= b:
            break
        total += min(close_at, b) - max(open_at, a)
    return total


def clean_time_zone(name: str, *, field_name: str = "time_zone") -> str:
    if not name or name not in _zone_names():
        raise InvalidInput(
            f"{field_name}: '{name}' is not an IANA time zone (e.g. Europe/Berlin).", field=field_name
        )
    return name


def clean_country(country: str, subdivision: str = "", *, field_name: str = "country") -> str:
    """An ISO country code the ``holidays`` package knows, or "" for no public holidays."""
    code = country.strip().upper()
    if not code:
        return ""
    supported = holidays.list_supported_countries()
    if code not in supported:
        raise InvalidInput(
            f"{field_name}: '{country}' is not a country with known public holidays (ISO code, e.g. DE).",
            field=field_name,
        )
    sub = subdivision.strip().upper()
    if sub and sub not in supported[code]:
        raise InvalidInput(
            f"subdivision: '{subdivision}' is not a subdivision of {code}.", field="subdivision"
        )
    return code


def _parse_day(intervals: Sequence[Sequence[str]], where: str) -> tuple[Interval, ...]:
    if isinstance(intervals, str) or not isinstance(intervals, Sequence):
        raise InvalidInput(f'{where}: a list of ["HH:MM", "HH:MM"] pairs.', field=where)
    parsed: list[Interval] = []
    for index, pair in enumerate(intervals):
        here = f"{where}[{index}]"
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise InvalidInput(f'{here}: a pair like ["09:00", "17:00"].', field=here)
        start, end = (_parse_clock(value, here) for value in pair)
        if start == MINUTES_PER_DAY:
            raise InvalidInput(f"{here}: an interval cannot start at 24:00.", field=here)
        if end == start:
            raise InvalidInput(f"{here}: start and end are the same time.", field=here)
        if end < start:
            end += MINUTES_PER_DAY  # runs past midnight
        parsed.append((start, end))
    parsed.sort()
    for (_, previous_end), (next_start, _) in itertools.pairwise(parsed):
        if next_start < previous_end:
            raise InvalidInput(f"{where}: intervals overlap.", field=where)
    return tuple(parsed)


def _parse_clock(value: object, where: str) -> int:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(f"{where}: '{value}' is not a time like 09:30.", field=where)
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and minutes:
        raise InvalidInput(f"{where}: '{value}' is past 24:00.", field=where)
    return hours * 60 + minutes


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name}: needs a time zone (an aware datetime).", field=name)
    return value


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"time_zone: '{name}' is not an IANA time zone.", field="time_zone") from None


@lru_cache(maxsize=256)
def _holiday_names(country: str, subdivision: str, year: int) -> dict[date, str]:
    table = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return {day: str(name) for day, name in table.items()}


@lru_cache(maxsize=4096)
def _day_interval(zone_name: str, day: date, start: int, end: int) -> tuple[datetime, datetime]:
    zone = _zone(zone_name)
    return _wall_to_utc(zone, day, start, opening=True), _wall_to_utc(zone, day, end, opening=False)


def _wall_to_utc(zone: ZoneInfo, day: date, minute: int, *, opening: bool) -> datetime:
    """The UTC moment the office clock shows ``minute`` after local midnight of ``day``."""
    day += timedelta(days=minute // MINUTES_PER_DAY)
    minute %= MINUTES_PER_DAY
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    last = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        # The wall time exists; if it is shown twice, open at the first showing, close at the last.
        return min(first, last) if opening else max(first, last)
    # Skipped by the clock (spring forward): the moment the clock jumps past it.
    return _transition_at(zone, min(first, last), max(first, last))


def _transition_at(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The exact instant in [low, high] where the zone's offset changes (offsets change on whole minutes)."""
    offset = low.astimezone(zone).utcoffset()
    moment = low.replace(second=0, microsecond=0)
    while moment < high and moment.astimezone(zone).utcoffset() == offset:
        moment += timedelta(minutes=1)
    return moment
