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
