from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regard.errors import RegardError
from regard.insights.services.rollups import dashboard_rollup_build, dashboard_rollup_refresh


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (use YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Rebuild the dashboard's daily rollups from the records: `regard rollup` does what the"
        " refresh task does once; `--first-day/--last-day` rebuild a range (after new business"
        " hours for a team, say)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--first-day", type=_day)
        parser.add_argument("--last-day", type=_day)

    def handle(self, *args: Any, **options: Any) -> None:
        first, last = options["first_day"], options["last_day"]
        try:
            if first is None and last is None:
                days = dashboard_rollup_refresh()
            elif first is None or last is None:
                raise CommandError("--first-day and --last-day go together")
            else:
                days = dashboard_rollup_build(first_day=first, last_day=last)
        except RegardError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"rolled up {len(days)} day(s)" + (f": {days[0]} to {days[-1]}" if days else ""))
