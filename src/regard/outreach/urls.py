from django.urls import path

from regard.outreach import views

app_name = "outreach"
urlpatterns = [
    path("", views.campaign_list, name="campaigns"),
    path("new", views.campaign_new, name="campaign_new"),
    path("<int:campaign_id>/", views.campaign_detail, name="campaign"),
    path("<int:campaign_id>/edit", views.campaign_edit, name="campaign_edit"),
    path("<int:campaign_id>/preview", views.campaign_preview, name="campaign_preview"),
    path("<int:campaign_id>/progress", views.campaign_progress, name="campaign_progress"),
    path("<int:campaign_id>/launch", views.campaign_launch, name="campaign_launch"),
    path("<int:campaign_id>/resume", views.campaign_resume, name="campaign_resume"),
    path("<int:campaign_id>/cancel", views.campaign_cancel, name="campaign_cancel"),
]
