from django.urls import path

from regard.policies import exception_views, promise_views, views

app_name = "policies"
urlpatterns = [
    path("", views.policy_list, name="list"),
    path("<int:policy_id>/", views.policy_detail, name="policy"),
    path("entitlement/<int:conversation_id>", views.entitlement_panel, name="entitlement_panel"),
    path("grant/<int:conversation_id>", views.grant, name="grant"),
    *promise_views.urlpatterns,
    *exception_views.urlpatterns,
]
