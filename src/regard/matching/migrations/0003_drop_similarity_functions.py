"""Drop the PL/pgSQL Jaro–Winkler and OSA functions that 0002 created for the postgres
matching backend, which is gone (docs/matching.md, "Scale-out": Spark is the one path).

Other databases never had them, so this does nothing there. Unapplied, it creates them
again from 0002's own text, so unapplying 0002 afterwards finds what it expects.
"""

import importlib

from django.db import migrations

created = importlib.import_module("regard.matching.migrations.0002_similarity_functions")


class Migration(migrations.Migration):
    dependencies = [("matching", "0002_similarity_functions")]

    operations = [migrations.RunPython(created.drop_functions, created.create_functions)]
