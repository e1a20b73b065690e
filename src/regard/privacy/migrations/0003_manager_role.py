"""The manager role: watches service quality and decides policy (C5, C6)."""

from django.db import migrations


def create_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="manager")


def remove_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="manager").delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0002_roles")]
    operations = [migrations.RunPython(create_role, remove_role)]
