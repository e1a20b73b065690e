"""Database helpers below every app: the few statements whose fastest form differs by vendor.

``bulk`` holds every PostgreSQL/SQLite branch of the bulk writes and lookups (COPY,
``UPDATE … FROM (VALUES …)``, ``INSERT … SELECT … unnest``, one array parameter for a long
``IN`` list), each written once, so an app writes "insert these rows" and never asks
which database it runs on. It imports nothing of Regard.
"""
