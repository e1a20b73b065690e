"""`regard import customers|orders FILE.csv` (columns and behaviour in docs/import.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from regard.customers.importing import ImportReport, ProgressCallback, customers_import, orders_import
from regard.errors import RegardError


class Command(BaseCommand):
    help = "Import customers or orders from a CSV file; bad rows go to FILE.errors.csv."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["customers", "orders"])
        parser.add_argument("file", type=Path)
        parser.add_argument("--batch-size", type=int, default=5000, help="rows per transaction")
        parser.add_argument("--errors", type=Path, help="error report path (default FILE.errors.csv)")
        parser.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 1,
            help="processes validating customer rows (default: one per core)",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        show_progress = not options["quiet"] and sys.stderr.isatty()
        progress = Progress(
            TextColumn(f"importing {options['what']}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            auto_refresh=False,  # no refresh thread: validation workers are forked
            disable=not show_progress,
        )
        task = progress.add_task("import", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
            progress.refresh()

        callback: ProgressCallback | None = advance if show_progress else None
        try:
            with progress:
                report = self._run(options, callback)
        except RegardError as error:
            raise CommandError(error.message) from None
        self.stdout.write(report.summary())
        if not report.is_complete:
            sys.exit(1)

    def _run(self, options: dict[str, Any], progress: ProgressCallback | None) -> ImportReport:
        common: dict[str, Any] = {
            "path": options["file"],
            "errors_path": options["errors"],
            "batch_size": options["batch_size"],
            "progress": progress,
        }
        if options["what"] == "customers":
            return customers_import(**common, workers=options["workers"])
        return orders_import(**common)
