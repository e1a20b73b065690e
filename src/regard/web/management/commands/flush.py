"""`flush` that can empty a SQLite database whose append-only tables refuse DELETE.

Emptying the whole database (what the test runner does between browser tests) is not a
rewrite of history, but SQLite's flush deletes row by row and the append-only triggers
refuse that. So on SQLite the triggers are set aside for the flush and restored, with
their exact SQL, in the same transaction. PostgreSQL flushes with TRUNCATE, which the
row triggers do not see.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections, transaction


class Command(DjangoFlush):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
                triggers = cursor.fetchall()
                for name, _ in triggers:
                    cursor.execute(f'DROP TRIGGER "{name}"')
            try:
                super().handle(**options)
            finally:
                with connection.cursor() as cursor:
                    for _, sql in triggers:
                        cursor.execute(sql)
