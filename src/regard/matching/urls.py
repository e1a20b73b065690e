from django.urls import path

from regard.matching import views

app_name = "matching"
urlpatterns = [
    path("", views.review_queue, name="queue"),
    path("<int:candidate_id>/", views.candidate_detail, name="candidate"),
    path("<int:candidate_id>/accept", views.candidate_accept, name="accept"),
    path("<int:candidate_id>/reject", views.candidate_reject, name="reject"),
    path("<int:candidate_id>/undo", views.candidate_undo, name="undo"),
]
