"""Art. 17 on the append-only consent ledger: besides a merge's move, one UPDATE is allowed.

0002 allowed only an UPDATE of customer_id (a merge re-attributing rows). These triggers
also allow a redaction: proof set to {}, redacted_at from NULL to a time, every other column
as it was. The fact recorded (who, what purpose, granted or withdrawn, when) stays; any other
rewrite, a second redaction and every DELETE are still refused (invariant 4).
"""

from django.db import migrations, models

TABLES = {
    "consent_consentevent": ("purpose", "channel", "action", "occurred_at", "recorded_at", "source"),
    "consent_preferencechange": (
        "channels",
        "excluded_topics",
        "max_messages_per_week",
        "paused_until",
        "source",
        "recorded_at",
    ),
}
OLD_COLUMNS = {
    "consent_consentevent": "purpose, channel, action, occurred_at, recorded_at, source, proof",
    "consent_preferencechange": (
        "channels, excluded_topics, max_messages_per_week, paused_until, source, proof, recorded_at"
    ),
}


def _sqlite_update_trigger(table, kept):
    same = " AND ".join(f"NEW.{column} IS OLD.{column}" for column in ("id", *kept))
    # A merge: only customer_id changes. A redaction: proof and redacted_at, once, nothing else.
    merge = f"{same} AND NEW.proof IS OLD.proof AND NEW.redacted_at IS OLD.redacted_at"
    redaction = (
        f"{same} AND NEW.customer_id IS OLD.customer_id AND NEW.proof = '{{}}' "
        "AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL"
    )
    return (
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} WHEN NOT (({merge}) OR ({redaction})) "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
    )


# The same text as customers 0004, which may or may not have run first.
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION regard_append_only_but_redaction() RETURNS trigger AS $$
DECLARE
    marks jsonb := TG_ARGV[0]::jsonb;
    marked text[] := ARRAY(SELECT jsonb_object_keys(TG_ARGV[0]::jsonb));
    old_row jsonb;
    new_row jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        old_row := to_jsonb(OLD);
        new_row := to_jsonb(NEW);
        IF TG_ARGV[1] = 'owner_may_move' AND (new_row - 'customer_id') = (old_row - 'customer_id') THEN
            RETURN NEW;
        END IF;
        IF old_row ->> 'redacted_at' IS NULL AND new_row ->> 'redacted_at' IS NOT NULL
            AND (new_row - marked - 'redacted_at') = (old_row - marked - 'redacted_at')
            AND NOT EXISTS (SELECT 1 FROM jsonb_each(marks) AS m WHERE new_row -> m.key IS DISTINCT FROM m.value)
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END; $$ LANGUAGE plpgsql;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};", params=None)
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW "
                """EXECUTE FUNCTION regard_append_only_but_redaction('{"proof": {}}', 'owner_may_move');""",
                params=None,
            )
    else:
        for table, kept in TABLES.items():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update;", params=None)
            schema_editor.execute(_sqlite_update_trigger(table, kept), params=None)


def backward(apps, schema_editor):
    for table, columns in OLD_COLUMNS.items():
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};", params=None)
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION regard_refuse_change_but_owner();",
                params=None,
            )
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update;", params=None)
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OF id, {columns} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;",
                params=None,
            )


class Migration(migrations.Migration):
    dependencies = [("consent", "0003_marketing_opt_out")]

    operations = [
        migrations.AddField(
            model_name="consentevent",
            name="redacted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="preferencechange",
            name="redacted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(forward, backward),
    ]
