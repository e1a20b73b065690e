"""The `regard` command: Django's management commands under Regard's own names.

regard serve                      everything in one process group (web, worker, dispatch, smtpd)
regard web | worker | dispatch | smtpd   the pieces, for production
regard token create --user NAME   print a new API token
regard import customers FILE.csv  import with a progress bar and an error report
regard erase ID --reason … --as ADMIN --yes   erase a person (Art. 17), as from Customer 360
"""

from __future__ import annotations

import os
import sys

# Regard's names for commands whose Django names differ.
ALIASES = {
    "import": "import_data",
    "worker": "db_worker",
}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regard.config.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ALIASES:
        args[0] = ALIASES[args[0]]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["regard", *args])


if __name__ == "__main__":
    main()
