"""`regard match run` and `regard match train`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from regard.errors import RegardError
from regard.matching import services
from regard.matching.models import MatchRun


class Command(BaseCommand):
    help = "Identity resolution: train the model, or score all customers for likely duplicates."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        run = actions.add_parser("run", help="score candidate pairs across all customers")
        run.add_argument(
            "--seed", type=int, default=services.DEFAULT_SEED, help="seed if a first model is trained"
        )
        run.add_argument("--quiet", action="store_true", help="no progress bar")
        train = actions.add_parser("train", help="estimate a new model version from the stored customers")
        train.add_argument("--seed", type=int, default=services.DEFAULT_SEED)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "train":
                row = services.match_train(actor=None, seed=options["seed"])
                summary = row.parameters.get("summary", {})
                self.stdout.write(
                    f"trained match model v{row.version} (seed {row.seed}): "
                    f"{summary.get('records', 0)} customers, {summary.get('blocked_pairs', 0)} blocked pairs, "
                    f"prior {row.parameters['prior']:.3g}"
                )
                return
            run = MatchRun.objects.create(created_at=timezone.now())
            if options["quiet"]:
                services.match_run_execute(run=run, seed=options["seed"])
            else:
                with Progress(
                    TextColumn("{task.description:<28}"),
                    BarColumn(),
                    TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(),
                ) as bar:
                    job = bar.add_task("matching", total=1.0)

                    def progress(stage: str, fraction: float) -> None:
                        bar.update(job, completed=fraction, description=stage)

                    services.match_run_execute(run=run, progress=progress, seed=options["seed"])
        except RegardError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"match run {run.pk}: {run.customers_seen} customers, {run.pairs_compared} pairs compared, "
            f"{run.candidates_found} likely duplicates ({run.candidates_new} new), {run.auto_merged} merged automatically"
        )
