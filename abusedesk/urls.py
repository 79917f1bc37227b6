from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from abusedesk import views
from accounts import urls as account_urls
from complaints import urls_subscribers

# One place for the subscriber pages: the writes of accounts and the pages that
# show strikes, which complaints serves (imports go complaints -> accounts).
subscriber_urls = (
    urls_subscribers.urlpatterns + account_urls.urlpatterns,
    account_urls.app_name,
)

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz/", views.healthz, name="healthz"),
    path("subscribers/", include(subscriber_urls)),
    path("", include("complaints.urls")),
    path("outbound/", include("outbound.urls")),
    path("admin/rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
]
