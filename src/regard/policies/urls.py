from django.urls import path  # noqa: F401

from regard.policies import promise_views

app_name = "policies"
urlpatterns: list = [
    *promise_views.urlpatterns,
]
