"""The EU's two-year legal guarantee (Directive (EU) 2019/771) for every member state."""

from django.db import migrations

EU = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]
WORDING = {
    "en": "The legal guarantee covers a fault for two years from delivery: we repair or replace the product free of charge.",
    "de": "Die gesetzliche Gewährleistung gilt zwei Jahre ab Lieferung: Wir reparieren oder ersetzen das Produkt kostenlos.",
}


def seed(apps, schema_editor):
    StatutoryGuarantee = apps.get_model("policies", "StatutoryGuarantee")
    for country in EU:
        StatutoryGuarantee.objects.get_or_create(
            country=country,
            defaults={
                "label": "EU legal guarantee",
                "months": 24,
                "remedies": ["repair", "replacement"],
                "wording": WORDING,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("policies", "StatutoryGuarantee").objects.filter(
        country__in=EU, label="EU legal guarantee"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("policies", "0002_remedies")]
    operations = [migrations.RunPython(seed, unseed)]
