from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0002_dashboard_rollups"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollupday",
            name="standing",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
