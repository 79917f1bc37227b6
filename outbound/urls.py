from django.urls import path

from outbound import views

app_name = "outbound"
urlpatterns = [
    path("held/", views.held_list, name="held_list"),
    path("held/<int:pk>/", views.held_detail, name="held_detail"),
    path("held/<int:pk>/<str:decision>/", views.held_decide, name="held_decide"),
]
