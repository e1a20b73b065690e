from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """The customer mirror, the service dashboard and the recovery worklist (C6)."""

    name = "regard.insights"
    label = "insights"
