"""The subscriber pages that show strikes (complaints/views/subscribers.py),
served under ``/subscribers/`` in the ``accounts`` namespace with the subscriber
writes of accounts/urls.py (see abusedesk/urls.py)."""

from django.urls import path

from complaints.views import subscribers

urlpatterns = [
    path("", subscribers.subscriber_search, name="subscriber_search"),
    path("<int:pk>/", subscribers.subscriber_detail, name="subscriber_detail"),
    path(
        "<int:pk>/history.csv",
        subscribers.subscriber_history_csv,
        name="subscriber_history_csv",
    ),
    path(
        "<int:pk>/history/print/",
        subscribers.subscriber_history_print,
        name="subscriber_history_print",
    ),
]
