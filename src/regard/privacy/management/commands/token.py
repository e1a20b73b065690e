from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regard.errors import RegardError
from regard.privacy.models import ApiToken
from regard.privacy.services import token_create, token_revoke


class Command(BaseCommand):
    help = "Create, list or revoke API tokens. `regard token create --user NAME` prints a new token."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token for a user and print it once")
        create.add_argument("--user", required=True)
        create.add_argument("--name", default="")
        sub.add_parser("list", help="list tokens (prefixes only)")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "create":
                issued = token_create(username=options["user"], name=options["name"])
                self.stdout.write(issued.secret)
            elif options["action"] == "list":
                for token in ApiToken.objects.select_related("user").order_by("id"):
                    state = "revoked" if token.revoked_at else "active"
                    self.stdout.write(f"{token.prefix}…\t{token.user}\t{token.name}\t{state}")
            else:
                found = ApiToken.objects.filter(prefix=options["prefix"], revoked_at__isnull=True).first()
                if found is None:
                    raise CommandError(f"prefix: no active token starts with '{options['prefix']}'")
                token_revoke(token=found)
                self.stdout.write(f"revoked {found.prefix}…")
        except RegardError as error:
            raise CommandError(error.message) from None
