"""`regard retention`: remove what outlived its retention period, or show what would go."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from regard.privacy.retention import KINDS, period, retention_enforce, retention_kick_off, retention_plan


class Command(BaseCommand):
    help = (
        "Enforce the retention periods (docs/privacy.md). --dry-run prints, per kind, how many records"
        " a run now would remove, and changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count only; change nothing")
        parser.add_argument(
            "--schedule", action="store_true", help="start the daily retention task (if none is waiting)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["schedule"]:
            retention_kick_off()
            self.stdout.write("retention runs daily from now on")
            return
        counts = retention_plan() if options["dry_run"] else retention_enforce()
        verb = "would remove" if options["dry_run"] else "removed"
        for kind in KINDS:
            keep = period(kind)
            count = counts[kind.name]
            if keep is None or count is None:
                self.stdout.write(f"{kind.name}\tkept for ever ({kind.setting}=0)")
            else:
                what = kind.what.format(days=keep.days)
                self.stdout.write(f"{kind.name}\t{count}\t{verb} {what} ({kind.setting})")
