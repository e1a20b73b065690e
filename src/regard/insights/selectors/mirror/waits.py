"""Every wait of the person's conversations, in working time and wall time, against the SLA (S9, S14)."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple, cast

from django.db.models import Q

from regard.insights.selectors.mirror.links import conversation_link
from regard.insights.selectors.mirror.records import (
    CONVERSATION_FIELDS,
    ConversationRow,
    ConversationWaits,
    Period,
    WaitOut,
)
from regard.support.metrics import Wait, measure
from regard.support.models import Conversation, Message, Team
from regard.support.sla import calendar_for
from regard.support.working_time import WorkingCalendar


def working_day_minutes(calendar: WorkingCalendar) -> int:
    days = [sum(end - start for start, end in day) for day in calendar.weekly if day]
    return max(days, default=480) or 480


def _wait_out(what: str, wait: Wait, target: int | None, met: bool | None) -> WaitOut:
    if met is None and target is not None and wait.ended_at is not None:
        met = wait.working_minutes <= target
    elif met is None and target is not None and wait.working_minutes > target:
        met = False
    return WaitOut(
        what=what,
        started_at=wait.started_at,
        ended_at=wait.ended_at,
        wall_seconds=wait.wall_seconds,
        working_minutes=wait.working_minutes,
        target_minutes=target,
        met=met,
    )


class RememberedCalendar:
    """A calendar's merged open intervals, walked once per mirror instead of once per wait.

    Forty conversations have hundreds of waits; each asked the calendar to build its days
    again. This yields exactly what ``WorkingCalendar.open_intervals`` yields (it is its
    output, kept), so every working-time figure stays the support desk's own.
    """

    def __init__(self, calendar: WorkingCalendar, since: datetime) -> None:
        self.calendar = calendar
        self.time_zone = calendar.time_zone
        self._since = since
        self._source = calendar.open_intervals(since)
        self._intervals: list[tuple[datetime, datetime]] = []
        self._ends: list[datetime] = []

    def _extend(self) -> None:
        interval = next(self._source)
        self._intervals.append(interval)
        self._ends.append(interval[1])

    def open_intervals(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        if since < self._since:
            yield from self.calendar.open_intervals(since)
            return
        while not self._ends or self._ends[-1] <= since:
            self._extend()
        index = bisect_right(self._ends, since)
        while True:
            while index >= len(self._intervals):
                self._extend()
            yield self._intervals[index]
            index += 1


class _Timing(NamedTuple):
    direction: str
    is_automated: bool
    created_at: datetime


def conversations_section(
    group: list[int], period: Period, now: datetime
) -> tuple[list[ConversationWaits], list[ConversationRow]]:
    rows = [
        ConversationRow(*values)
        for values in Conversation.objects.filter(customer_id__in=group, created_at__lt=period.until)
        .filter(Q(created_at__gte=period.since) | Q(updated_at__gte=period.since))
        .order_by("created_at", "id")
        .values_list(*CONVERSATION_FIELDS)
    ]
    messages: dict[int, list[Message]] = defaultdict(list)
    teams: dict[int | None, Team | None] = {None: None}
    if rows:
        # Plain tuples: measure() reads these three fields, and model instances cost more than the query.
        for conversation_id, direction, is_automated, created_at in (
            Message.objects.filter(conversation_id__in=[c.pk for c in rows])
            .exclude(direction=Message.Direction.NOTE)
            .order_by("created_at", "id")
            .values_list("conversation_id", "direction", "is_automated", "created_at")
        ):
            messages[conversation_id].append(cast(Message, _Timing(direction, is_automated, created_at)))
        team_ids = {c.team_id for c in rows if c.team_id is not None}
        if team_ids:
            teams |= {team.pk: team for team in Team.objects.filter(pk__in=team_ids)}
    calendars: dict[int | None, WorkingCalendar] = {}
    remembered: dict[int | None, RememberedCalendar] = {}
    day_minutes: dict[int | None, int] = {}
    out: list[ConversationWaits] = []
    stop = min(now, period.until)
    first = rows[0].created_at if rows else stop
    for conversation in rows:
        calendar = calendars.get(conversation.team_id)
        if calendar is None:
            calendar = calendars[conversation.team_id] = calendar_for(teams.get(conversation.team_id))
            remembered[conversation.team_id] = RememberedCalendar(calendar, first)
            day_minutes[conversation.team_id] = working_day_minutes(calendar)
        clock = cast(WorkingCalendar, remembered[conversation.team_id])
        measured = measure(
            cast(Conversation, conversation), messages[conversation.pk], calendar=clock, now=stop
        )
        waits = [
            _wait_out(
                "first response",
                measured.first_response,
                conversation.first_response_minutes,
                measured.first_response_met,
            )
        ]
        waits += [
            _wait_out("next response", w, conversation.next_response_minutes, None)
            for w in measured.next_responses
        ]
        if conversation.resolved_at is not None or conversation.is_open:
            waits.append(
                _wait_out(
                    "resolution",
                    measured.resolution,
                    conversation.resolution_minutes,
                    measured.resolution_met,
                )
            )
        out.append(
            ConversationWaits(
                conversation_id=conversation.pk,
                channel=conversation.channel,
                kind=conversation.kind,
                subject=conversation.subject,
                status=conversation.status,
                created_at=conversation.created_at,
                waits=waits,
                handoffs=conversation.handoff_count,
                reopenings=conversation.reopen_count,
                working_day_minutes=day_minutes[conversation.team_id],
                link=conversation_link(conversation.pk, conversation.subject or ""),
            )
        )
    return out, rows
