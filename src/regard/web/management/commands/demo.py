from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regard.customers.demo import demo_load
from regard.customers.models import Customer
from regard.web.demo import demo_stories_ensure


class Command(BaseCommand):
    help = "Load reproducible demo data into an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=500)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--force", action="store_true", help="load even if customers exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 2:
            raise CommandError("customers: must be at least 2")
        if Customer.objects.exists() and not options["force"]:
            raise CommandError("the database already holds customers; use --force to add demo data anyway")
        created = demo_load(customers=options["customers"], seed=options["seed"])
        self.stdout.write(f"loaded {created} demo customers (seed {options['seed']})")
        # Every app's story after the customers (web.demo.DEMO_STORIES, one visible list).
        for line in demo_stories_ensure():
            self.stdout.write(line)
