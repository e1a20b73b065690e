"""The cache table that rate limits count in when there is no Redis (settings.CACHES)."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # Only the database cache needs a table; createcachetable skips other backends.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS regard_cache")


class Migration(migrations.Migration):
    dependencies = []
    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
