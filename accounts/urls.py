from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.subscriber_search, name="subscriber_search"),
    path("<int:pk>/", views.subscriber_detail, name="subscriber_detail"),
    path("<int:pk>/notes/", views.subscriber_note_add, name="subscriber_note_add"),
    path(
        "<int:pk>/status/<str:change>/",
        views.subscriber_status_change,
        name="subscriber_status_change",
    ),
    path(
        "<int:pk>/history.csv",
        views.subscriber_history_csv,
        name="subscriber_history_csv",
    ),
    path(
        "<int:pk>/history/print/",
        views.subscriber_history_print,
        name="subscriber_history_print",
    ),
]
