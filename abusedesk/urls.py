from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from abusedesk import views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz/", views.healthz, name="healthz"),
    path("subscribers/", include("accounts.urls")),
    path("", include("complaints.urls")),
    path("outbound/", include("outbound.urls")),
    path("admin/rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
]
