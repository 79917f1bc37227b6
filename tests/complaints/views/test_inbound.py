"""The stored-message pages: lists by state, one message, reprocess, discard."""

import pytest

from complaints.models import InboundMessage
from tests.complaints.factories import InboundMessageFactory
from tests.complaints.mail import arf_report

pytestmark = pytest.mark.django_db


def test_failed_list_shows_the_error_and_links_the_message(abuse_client):
    inbound = InboundMessageFactory(state="failed", error="Unreadable: no headers")
    page = abuse_client.get("/inbound/failed/")
    assert list(page.context["page"]) == [inbound]
    assert b"Unreadable: no headers" in page.content
    assert f'href="/inbound/{inbound.pk}/"'.encode() in page.content


@pytest.mark.parametrize("state", ["ignored", "discarded", "pending"])
def test_each_state_has_its_list(abuse_client, state):
    inbound = InboundMessageFactory(state=state, discard_reason="test")
    InboundMessageFactory(state="processed")
    assert list(abuse_client.get(f"/inbound/{state}/").context["page"]) == [inbound]


def test_unknown_list_is_not_found(abuse_client):
    assert abuse_client.get("/inbound/whatever/").status_code == 404


def test_detail_shows_the_raw_message_as_inert_text(abuse_client):
    raw = b"Subject: <script>alert(1)</script>\r\n\r\n<img src=x onerror=alert(2)>"
    inbound = InboundMessageFactory(raw=raw, state="failed", error="boom")
    page = abuse_client.get(f"/inbound/{inbound.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "boom" in page


def test_reprocess_shows_what_became_of_the_message(abuse_client):
    raw = arf_report(login="bob")
    inbound = InboundMessageFactory(raw=raw, state="failed", error="old bug")
    response = abuse_client.post(f"/inbound/{inbound.pk}/reprocess/", follow=True)
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.PROCESSED
    complaint = inbound.complaints.get()
    text = response.content.decode()
    assert f"Message #{inbound.pk} reprocessed. Processed: complaint" in text
    assert f"/complaints/{complaint.pk}/" in text


def test_discard_needs_a_reason_and_a_confirmation(abuse_client):
    inbound = InboundMessageFactory(state="failed")
    abuse_client.post(f"/inbound/{inbound.pk}/discard/", {"reason": "x"})
    inbound.refresh_from_db()
    assert inbound.state == "failed"
    response = abuse_client.post(
        f"/inbound/{inbound.pk}/discard/",
        {"reason": "A test message", "confirm": "on"},
        follow=True,
    )
    inbound.refresh_from_db()
    assert inbound.state == "discarded"
    assert "Discarded by abby: A test message" in response.content.decode()


def test_support_reps_may_not_see_stored_messages(support_client):
    inbound = InboundMessageFactory(state="failed")
    assert support_client.get(f"/inbound/{inbound.pk}/").status_code == 403
    assert support_client.post(f"/inbound/{inbound.pk}/discard/").status_code == 403


def test_a_processed_message_links_back_to_a_list_that_exists(abuse_client):
    inbound = InboundMessageFactory(state="processed")
    page = abuse_client.get(f"/inbound/{inbound.pk}/").content.decode()
    assert 'href="/inbound/failed/">← Failed messages' in page
