"""Consent needs no background tasks of its own; feedback handling lives in outreach."""
