"""Default SLA policies (team = null): complaints answered within one working day (S14)."""

from django.db import migrations

# (kind, priority, first response, next response, resolution) in working minutes; a working day is 480.
DEFAULTS = [
    ("complaint", "", 480, 480, 5 * 480),
    ("", "urgent", 60, 120, 480),
    ("", "high", 240, 480, 3 * 480),
    ("", "", 2 * 480, 2 * 480, 10 * 480),
]


def create_defaults(apps, schema_editor):  # type: ignore[no-untyped-def]
    SlaPolicy = apps.get_model("support", "SlaPolicy")
    for kind, priority, first, following, resolution in DEFAULTS:
        SlaPolicy.objects.get_or_create(
            team=None,
            kind=kind,
            priority=priority,
            defaults={
                "first_response_minutes": first,
                "next_response_minutes": following,
                "resolution_minutes": resolution,
                "warn_at_percent": 80,
            },
        )


def remove_defaults(apps, schema_editor):  # type: ignore[no-untyped-def]
    SlaPolicy = apps.get_model("support", "SlaPolicy")
    for kind, priority, *_ in DEFAULTS:
        SlaPolicy.objects.filter(team=None, kind=kind, priority=priority).delete()


class Migration(migrations.Migration):
    dependencies = [("support", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
