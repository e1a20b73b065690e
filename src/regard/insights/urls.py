from django.urls import path

from regard.insights import views

app_name = "insights"
urlpatterns = [
    path("customers/<int:customer_id>/mirror", views.mirror_page, name="mirror"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
    path("recovery/", views.recovery_page, name="recovery"),
    path("recovery/<int:item_id>", views.recovery_act, name="recovery_act"),
]
