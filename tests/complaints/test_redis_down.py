"""With Redis stopped (a private redis-server, really stopped), the public form,
the status page and the dashboard still answer, and no report is lost."""

import pytest
from django.urls import reverse

from complaints import services
from complaints.models import Complaint, InboundMessage, RateLimitCount
from complaints.services import public_reports
from drills.servers import PrivateRedis
from tests.complaints.mail import reported_message

pytestmark = pytest.mark.django_db

FORM = reverse("complaints:report_form")
STATUS = reverse("complaints:report_status")


@pytest.fixture
def redis_down(settings):
    """Cache and queues on a private Redis that has been stopped."""
    server = PrivateRedis().start()
    settings.CACHES = {
        "default": {
            "BACKEND": "abusedesk.cache.DeskRedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "desk",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.RQ_QUEUES = {
        name: {"URL": server.url, "DEFAULT_TIMEOUT": 60}
        for name in ("ingest", "default")
    }
    server.stop()
    yield server
    server.close()


def _report(client, **fields):
    data = {
        "name": "Jo Example",
        "email": "jo@example.org",
        "what_happened": "I never signed up for this.",
        "headers": reported_message(subject="Cheap pills"),
        "website": "",
        **fields,
    }
    return client.post(FORM, data)


def test_public_form_stores_the_report_while_redis_is_down(
    client, redis_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _report(client)
    assert response.status_code == 302
    assert response.url == reverse("complaints:report_done")
    reference = client.session["web_report"]["reference"]
    inbound = InboundMessage.objects.get()
    assert inbound.state == InboundMessage.State.PENDING, "the sweep enqueues it"
    services.inbound_process(inbound_id=inbound.pk)
    assert Complaint.objects.get().reference == reference
    done = client.get(reverse("complaints:report_done"))
    assert reference in done.content.decode()


def test_rate_limit_falls_back_to_the_database_at_half_the_limit(client, redis_down):
    limit = public_reports.REPORTS_PER_EMAIL_PER_HOUR // 2
    statuses = [
        _report(client, what_happened=f"Report number {n}.").status_code
        for n in range(limit + 1)
    ]
    assert statuses == [302] * limit + [429]
    assert RateLimitCount.objects.exists()


def test_status_page_answers_while_redis_is_down(client, redis_down):
    response = client.post(STATUS, {"reference": "C-AAAA-BBBB", "email": "a@b.example"})
    assert response.status_code == 200


def test_dashboard_answers_while_redis_is_down(client, abuse_user, redis_down):
    client.force_login(abuse_user)
    response = client.get(reverse("complaints:dashboard"))
    assert response.status_code == 200
