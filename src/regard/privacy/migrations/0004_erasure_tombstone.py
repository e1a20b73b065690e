from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0003_manager_role"),
    ]

    operations = [
        migrations.CreateModel(
            name="Tombstone",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key_hash", models.CharField(max_length=64, unique=True)),
                ("kind", models.CharField(max_length=10)),
                ("erased_at", models.DateTimeField(db_index=True)),
            ],
            options={
                "ordering": ["-erased_at", "-id"],
            },
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("read", "Read"),
                    ("create", "Create"),
                    ("update", "Update"),
                    ("merge", "Merge"),
                    ("unmerge", "Unmerge"),
                    ("import", "Import"),
                    ("token", "Token"),
                    ("erase", "Erase"),
                ],
                max_length=16,
            ),
        ),
    ]
