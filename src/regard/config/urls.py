from django.contrib import admin
from django.urls import include, path

from regard.api.api import api
from regard.privacy import erasure_views
from regard.support import demo_chat, survey_views
from regard.support import views as support_views

urlpatterns = [
    path("", include("regard.web.urls")),
    path("customers/<int:customer_id>/erase/", erasure_views.erase_confirm, name="customer_erase"),
    path("customers/", include("regard.customers.urls")),
    path("matching/", include("regard.matching.urls")),
    path("campaigns/", include("regard.outreach.urls")),
    path("", include("regard.consent.urls")),
    path("support/", include("regard.support.urls")),
    path("policies/", include("regard.policies.urls")),
    path("insights/", include("regard.insights.urls")),
    path("privacy/exports/", include("regard.privacy.export_views")),
    path("contact/", support_views.contact, name="contact"),
    path("s/<str:token>", survey_views.survey, name="survey"),
    path("demo/shop/", demo_chat.demo_shop, name="demo_shop"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
