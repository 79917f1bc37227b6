from django.urls import path

from complaints import views

app_name = "complaints"
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("complaints/", views.complaint_list, name="complaint_list"),
    path("complaints/<int:pk>/", views.complaint_detail, name="complaint_detail"),
    path("mailings/<int:pk>/", views.mailing_detail, name="mailing_detail"),
]
