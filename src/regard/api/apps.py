from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "regard.api"
    label = "regard_api"
