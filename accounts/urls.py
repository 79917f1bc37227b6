from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.subscriber_search, name="subscriber_search"),
    path("<int:pk>/", views.subscriber_detail, name="subscriber_detail"),
    path("<int:pk>/notes/", views.subscriber_note_add, name="subscriber_note_add"),
]
