from django.contrib import admin
from django.urls import include, path

from regard.api.api import api

urlpatterns = [
    path("", include("regard.web.urls")),
    path("customers/", include("regard.customers.urls")),
    path("matching/", include("regard.matching.urls")),
    path("campaigns/", include("regard.outreach.urls")),
    path("", include("regard.consent.urls")),
    path("support/", include("regard.support.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
