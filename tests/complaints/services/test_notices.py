"""Mail to complainants names the ISP and its contact, and links follow the
desk's public address."""

import pytest
from django.core import mail

from complaints.services import notices
from tests.complaints.factories import ComplaintFactory

pytestmark = pytest.mark.django_db


def test_acknowledgment_names_the_isp_and_links_to_the_status_page(settings):
    settings.ABUSE_ISP_NAME = "Harbour Net"
    settings.ABUSE_ISP_CONTACT = "abuse@harbour.example"
    settings.ABUSE_PUBLIC_URL = "http://desk.example:8080"
    complaint = ComplaintFactory(needs_acknowledgment=True)
    assert notices.complaint_acknowledge(complaint_id=complaint.pk)
    body = mail.outbox[0].body
    assert "The abuse team of Harbour Net\nabuse@harbour.example" in body
    assert "http://desk.example:8080/report/status/" in body
