from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "regard.outreach"
    label = "outreach"
