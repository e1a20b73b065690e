from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "regard.privacy"
    label = "privacy"
    verbose_name = "Privacy, roles and audit"
