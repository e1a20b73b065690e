"""Background tasks of the customers app (none yet: imports run in the CLI)."""
