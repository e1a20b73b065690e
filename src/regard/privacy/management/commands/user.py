from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regard.errors import RegardError
from regard.privacy.roles import Role
from regard.privacy.services import user_create


class Command(BaseCommand):
    help = "Create a user with one or more roles (admin, agent, marketer, analyst)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("username")
        create.add_argument("--role", action="append", required=True, choices=[r.value for r in Role])
        create.add_argument("--password", default=None)
        create.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user_create(
                username=options["username"],
                password=options["password"],
                roles=[Role(r) for r in options["role"]],
                email=options["email"],
            )
        except RegardError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"created {options['username']} ({', '.join(options['role'])})")
