from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "regard.web"
    label = "web"

    def ready(self) -> None:
        from django.core import checks

        from regard.web.checks import allowed_hosts_not_wildcard

        checks.register(allowed_hosts_not_wildcard, checks.Tags.security, deploy=True)
