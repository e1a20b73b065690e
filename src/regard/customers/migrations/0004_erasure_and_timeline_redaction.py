"""Art. 17 on an append-only timeline: the one UPDATE the database allows is a redaction.

The triggers of 0002 refused every UPDATE. These refuse every UPDATE but one: summary set to
the redaction mark, data to {}, redacted_at from NULL to a time, and every other column as
it was. So an erasure can blank the personal columns without the triggers being turned off,
and any other rewrite of history, or a second redaction, is still refused (invariant 4).
DELETE stays refused.
"""

from django.db import migrations, models

TABLE = "customers_timelineevent"
MARK = "[erased]"
# Columns that must come through a redaction unchanged.
KEPT = ("id", "customer_id", "kind", "channel", "occurred_at", "recorded_at", "subject_type", "subject_id")

SQLITE_REDACTION = (
    "OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL "
    f"AND NEW.summary = '{MARK}' AND NEW.data = '{{}}' AND "
    + " AND ".join(f"NEW.{column} IS OLD.{column}" for column in KEPT)
)
SQLITE_FORWARD = [
    "DROP TRIGGER IF EXISTS timeline_no_update;",
    f"CREATE TRIGGER timeline_no_update BEFORE UPDATE ON {TABLE} WHEN NOT ({SQLITE_REDACTION}) "
    "BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS timeline_no_update;",
    f"CREATE TRIGGER timeline_no_update BEFORE UPDATE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'timeline is append-only'); END;",
]

# Shared with consent 0004 (the same text, so either may create it). TG_ARGV[0]: the redacted
# columns and their marks as JSON; TG_ARGV[1]: 'owner_may_move' where a merge may re-attribute
# rows (customer_id alone changes), anything else where it may not.
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
POSTGRES_FORWARD = [
    POSTGRES_FUNCTION,
    f"DROP TRIGGER IF EXISTS timeline_append_only ON {TABLE};",
    f"CREATE TRIGGER timeline_append_only BEFORE UPDATE OR DELETE ON {TABLE} FOR EACH ROW "
    f"""EXECUTE FUNCTION regard_append_only_but_redaction('{{"summary": "{MARK}", "data": {{}}}}', 'fixed_owner');""",
]
POSTGRES_BACKWARD = [
    f"DROP TRIGGER IF EXISTS timeline_append_only ON {TABLE};",
    f"CREATE TRIGGER timeline_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION regard_refuse_change();",
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
    dependencies = [("customers", "0003_formality_labels")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="erased_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name="timelineevent",
            name="redacted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(forward, backward),
    ]
