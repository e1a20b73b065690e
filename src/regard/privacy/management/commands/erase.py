"""`regard erase ID --reason TEXT --as ADMIN --yes`: Art. 17 from the command line, for a
request that arrived by letter or phone. The same service as the API and the Customer 360
button: the same checks, the same tombstone, the same audit row naming the admin."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from regard.errors import RegardError
from regard.privacy.erasure import customer_erase


class Command(BaseCommand):
    help = (
        "Erase a customer and every profile merged into them (GDPR Art. 17). Irreversible: needs --yes."
        " The reason is kept in the audit log and must not contain the person's name or identifiers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer_id", type=int, help="the customer's id")
        parser.add_argument("--reason", required=True, help="why, e.g. 'request by letter of 2 Dec'")
        parser.add_argument("--as", dest="username", required=True, help="the admin who decided it")
        parser.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["yes"]:
            raise CommandError("yes: erasure cannot be undone; add --yes to confirm")
        actor = User.objects.filter(username=options["username"], is_active=True).first()
        if actor is None:
            raise CommandError(f"as: no active user '{options['username']}'")
        try:
            result = customer_erase(
                actor=actor, customer_id=options["customer_id"], reason=options["reason"], via="cli"
            )
        except RegardError as error:
            raise CommandError(error.message) from None
        profiles = len(result.profiles)
        self.stdout.write(
            f"erased customer {result.customer_id} ({profiles} profile{'s' if profiles != 1 else ''},"
            f" {result.tombstones} identifiers kept as keyed hashes only)"
        )
