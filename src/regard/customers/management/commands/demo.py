from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regard.customers.demo import demo_load
from regard.customers.models import Customer


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
        # The support desk's demo: a team, its address, conversations on every channel.
        from regard.support.demo import support_demo_ensure

        for line in support_demo_ensure():
            self.stdout.write(line)
        from regard.policies.demo_promises import promises_demo_ensure

        for line in promises_demo_ensure():
            self.stdout.write(line)
