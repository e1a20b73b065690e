from django.urls import path

from regard.insights import views

app_name = "insights"
urlpatterns = [
    path("customers/<int:customer_id>/mirror", views.mirror_page, name="mirror"),
]
