"""The Django admin: every model is there, raw messages are read-only text, and an
ingest token is shown once on creation."""

import pytest
from django.contrib.auth.models import User

from complaints.models import IngestToken
from complaints.services.tokens import ingest_token_check
from tests.complaints.factories import InboundMessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/accounts/subscriber/",
        "/admin/accounts/mailaccount/",
        "/admin/accounts/ipassignment/",
        "/admin/accounts/action/",
        "/admin/complaints/inboundmessage/",
        "/admin/complaints/mailing/",
        "/admin/complaints/complaint/",
        "/admin/complaints/bounce/",
        "/admin/complaints/strike/",
        "/admin/complaints/ingesttoken/",
    ],
)
def test_every_model_has_an_admin_list(admin_client, path):
    assert admin_client.get(path, {"q": "x"}).status_code == 200


def test_raw_message_is_shown_as_escaped_text(admin_client):
    inbound = InboundMessageFactory(raw=b"Subject: <script>alert(1)</script>\r\n\r\nhi")
    page = admin_client.get(f"/admin/complaints/inboundmessage/{inbound.pk}/change/")
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content
    assert b"<script>alert(1)" not in page.content


def test_new_ingest_token_is_shown_once_and_works(admin_client):
    response = admin_client.post(
        "/admin/complaints/ingesttoken/add/",
        {"name": "mx1", "is_active": "on"},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    token = shown[0].split("Token for mx1: ")[1].split(" ")[0]
    assert IngestToken.objects.count() == 1
    assert ingest_token_check(token=token).name == "mx1"


@pytest.fixture
def abuse_admin_client(client, abuse_user):
    """Abuse staff with staff status, as seed_demo makes the `abuse` user."""
    abuse_user.is_staff = True
    abuse_user.save(update_fields=["is_staff"])
    client.force_login(abuse_user)
    return client


def test_abuse_staff_can_open_the_admin(abuse_admin_client):
    assert abuse_admin_client.get("/admin/").status_code == 200
    assert abuse_admin_client.get("/admin/complaints/mailing/").status_code == 200


def test_mailing_state_and_counters_cannot_be_changed_in_the_admin(admin_client):
    from tests.complaints.factories import MailingFactory

    mailing = MailingFactory(complaint_count=2)
    page = admin_client.get(f"/admin/complaints/mailing/{mailing.pk}/change/")
    form = page.context["adminform"].form
    for name in ("state", "complaint_count", "hard_bounce_count", "held_recipients"):
        assert name not in form.fields, name
    assert "subject" in form.fields


def test_complaint_state_and_links_are_read_only_in_the_admin(admin_client):
    from tests.complaints.factories import ComplaintFactory

    complaint = ComplaintFactory()
    page = admin_client.get(f"/admin/complaints/complaint/{complaint.pk}/change/")
    form = page.context["adminform"].form
    for name in ("state", "subscriber", "mailing"):
        assert name not in form.fields, name


def test_strikes_cannot_be_added_or_changed_in_the_admin(admin_client):
    from tests.complaints.factories import StrikeFactory

    strike = StrikeFactory()
    assert admin_client.get("/admin/complaints/strike/add/").status_code == 403
    page = admin_client.get(f"/admin/complaints/strike/{strike.pk}/change/")
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
