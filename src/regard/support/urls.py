from django.urls import path

from regard.support import notification_views, views

app_name = "support"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("calls/new", views.call_new, name="call_new"),
    path("c/<int:conversation_id>/", views.conversation_detail, name="conversation"),
    path("c/<int:conversation_id>/reply", views.conversation_reply, name="reply"),
    path("c/<int:conversation_id>/note", views.conversation_note, name="note"),
    path("c/<int:conversation_id>/assign", views.conversation_assign, name="assign"),
    path("c/<int:conversation_id>/status", views.conversation_status, name="status"),
    path("attachments/<int:attachment_id>", views.attachment_download, name="attachment"),
    path("notifications/", notification_views.notifications_page, name="notifications"),
    path("notifications/read", notification_views.notifications_read, name="notifications_read"),
]
