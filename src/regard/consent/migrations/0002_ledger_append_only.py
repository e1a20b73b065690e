"""Invariant 4 at the database: consent events and preference changes are never rewritten.

The one UPDATE allowed moves a row to the surviving profile of a merge (customer_id only),
so a merge loses no consent record (invariant 5). Also creates the partner role (S5).
"""

from django.db import migrations

TABLES = {
    "consent_consentevent": "purpose, channel, action, occurred_at, recorded_at, source, proof",
    "consent_preferencechange": "channels, excluded_topics, max_messages_per_week, paused_until, source, proof, recorded_at",
}


def sqlite_forward(table, columns):
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OF id, {columns} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;",
        # Only a whole-database flush (tests), after the customers are gone, may clear rows.
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        "WHEN EXISTS (SELECT 1 FROM customers_customer WHERE id = OLD.customer_id) "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;",
    ]


POSTGRES_FUNCTION = (
    "CREATE OR REPLACE FUNCTION regard_refuse_change_but_owner() RETURNS trigger AS $$ "
    "BEGIN IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'customer_id') = (to_jsonb(OLD) - 'customer_id') "
    "THEN RETURN NEW; END IF; RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql;"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION regard_refuse_change_but_owner();",
                params=None,
            )
    else:
        for table, columns in TABLES.items():
            for statement in sqlite_forward(table, columns):
                schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    for table in TABLES:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};", params=None)
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update;", params=None)
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete;", params=None)


def create_partner_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="partner")


def remove_partner_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="partner").delete()


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial"), ("privacy", "0002_roles")]
    operations = [
        migrations.RunPython(forward, backward),
        migrations.RunPython(create_partner_role, remove_partner_role),
    ]
