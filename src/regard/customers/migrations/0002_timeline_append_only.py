"""Invariant 4 at the database: the timeline refuses UPDATE and DELETE from any writer."""

from django.db import migrations

TABLE = "customers_timelineevent"

SQLITE_FORWARD = [
    f"CREATE TRIGGER timeline_no_update BEFORE UPDATE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;",
    f"CREATE TRIGGER timeline_no_delete BEFORE DELETE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS timeline_no_update;",
    "DROP TRIGGER IF EXISTS timeline_no_delete;",
]

POSTGRES_FORWARD = [
    "CREATE OR REPLACE FUNCTION regard_refuse_change() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql;",
    f"CREATE TRIGGER timeline_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION regard_refuse_change();",
]
POSTGRES_BACKWARD = [
    f"DROP TRIGGER IF EXISTS timeline_append_only ON {TABLE};",
]


def forward(apps, schema_editor):
    statements = POSTGRES_FORWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_FORWARD
    for statement in statements:
        schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    statements = POSTGRES_BACKWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD
    for statement in statements:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
