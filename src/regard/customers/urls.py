from django.urls import path

from regard.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_search, name="search"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
    path("<int:customer_id>/timeline", views.customer_timeline, name="timeline"),
]
