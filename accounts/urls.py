"""The subscriber writes; abusedesk/urls.py joins them with the subscriber pages
of complaints/urls_subscribers.py under ``/subscribers/`` and this namespace."""

from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("<int:pk>/notes/", views.subscriber_note_add, name="subscriber_note_add"),
    path(
        "<int:pk>/status/<str:change>/",
        views.subscriber_status_change,
        name="subscriber_status_change",
    ),
]
