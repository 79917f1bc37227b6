"""The desk for daily work in Chromium: dashboard cards lead to their lists, a
held batch is found from the dashboard, failed messages are read, discarded and
reprocessed, and a support rep's forbidden page offers a way back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.models import Complaint, InboundMessage, Mailing
from tests.complaints.factories import (
    ComplaintFactory,
    InboundMessageFactory,
    MailingFactory,
)
from tests.complaints.mail import arf_report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _figure(text: str) -> int:
    return int(text.split()[0])


def test_every_dashboard_card_leads_to_its_list(page, live_server, login, abuse_user):
    ComplaintFactory.create_batch(2)
    MailingFactory(state=Mailing.State.HELD)
    MailingFactory(
        state=Mailing.State.HELD, first_seen=timezone.now() - timedelta(days=1)
    )
    InboundMessageFactory(state=InboundMessage.State.FAILED, error="boom")
    InboundMessageFactory(state=InboundMessage.State.PENDING)
    login(abuse_user)
    page.goto(f"{live_server.url}/dashboard/")
    cards = page.locator("a.card")
    labels = [cards.nth(n).inner_text() for n in range(cards.count())]
    assert len(labels) == 6
    for label in labels:
        page.goto(f"{live_server.url}/dashboard/")
        card = page.locator("a.card").filter(has_text=label.split("\n", 1)[1])
        expected = _figure(card.inner_text())
        card.click()
        page.wait_for_load_state()
        rows = page.locator("main table tbody tr:not(:has(td.muted))")
        assert rows.count() == expected, label


def test_a_held_batch_is_found_from_the_dashboard(
    page, live_server, login, abuse_user, screenshot
):
    held = MailingFactory(
        state=Mailing.State.HELD,
        subject="Quarterly price list",
        held_recipients=["a@example.com", "b@example.org"],
    )
    MailingFactory(subject="An open mailing")
    login(abuse_user)
    page.goto(f"{live_server.url}/dashboard/")
    page.get_by_role("link", name="1 held batch").click()
    page.wait_for_url("**/mailings/?state=held")
    screenshot("mailings_held")
    page.get_by_role("link", name="Quarterly price list").click()
    page.wait_for_url(f"**/mailings/{held.pk}/")
    assert page.locator("#held").get_by_text("Held batch: 2 recipients").is_visible()


def test_failed_messages_viewed_discarded_and_reprocessed(
    page, live_server, login, abuse_user, screenshot
):
    junk = InboundMessageFactory(
        raw=b"<script>window.__pwned=1</script>\x00 no headers here",
        state=InboundMessage.State.FAILED,
        error="Unreadable message: no headers",
        received_at=timezone.now() - timedelta(minutes=2),
    )
    fixable = InboundMessageFactory(
        raw=arf_report(login="bob"),
        state=InboundMessage.State.FAILED,
        error="Internal error: fixed since",
    )
    login(abuse_user)
    page.goto(f"{live_server.url}/dashboard/")
    page.get_by_role("link", name="2 failed messages").click()
    page.get_by_role("link", name=f"#{junk.pk}", exact=True).click()
    page.wait_for_url(f"**/inbound/{junk.pk}/")
    assert page.get_by_text("Unreadable message: no headers").first.is_visible()
    assert "<script>window.__pwned=1</script>" in page.locator("pre.raw").inner_text()
    assert page.evaluate("window.__pwned") is None
    screenshot("failed_message")

    page.get_by_text("Discard", exact=True).click()
    page.get_by_label("Reason").fill("Spam test from a monitoring probe")
    page.get_by_label("I have read the message and confirm").check()
    page.get_by_role("button", name="Discard message").click()
    assert page.get_by_text(f"Message #{junk.pk} discarded.").is_visible()
    assert page.get_by_text("Spam test from a monitoring probe").first.is_visible()
    junk.refresh_from_db()
    assert junk.state == InboundMessage.State.DISCARDED

    page.goto(f"{live_server.url}/inbound/failed/")
    page.get_by_role("button", name=f"Reprocess message #{fixable.pk}").click()
    page.wait_for_url(f"**/inbound/{fixable.pk}/")
    complaint = Complaint.objects.get(inbound_id=fixable.pk)
    outcome = page.locator("#outcome")
    assert outcome.get_by_text(
        f"Processed: complaint {complaint.reference} recorded."
    ).is_visible()
    screenshot("reprocessed_message")
    outcome.get_by_role("link", name="Open the complaint").click()
    page.wait_for_url(f"**/complaints/{complaint.pk}/")


def test_support_reps_forbidden_page_has_the_layout_and_a_way_back(
    page, live_server, login, support_user, screenshot
):
    login(support_user)
    page.goto(f"{live_server.url}/dashboard/")
    assert page.get_by_role("heading", name="This page is not open to you").is_visible()
    assert page.get_by_role("navigation", name="Main").is_visible()
    screenshot("forbidden_support")
    page.get_by_role("link", name="Find a subscriber").click()
    page.wait_for_url("**/subscribers/")


def test_the_queue_pages_by_keyset_to_the_last_page_and_back(
    page, live_server, login, abuse_user
):
    ComplaintFactory.create_batch(120, state=Complaint.State.NEW)
    oldest = ComplaintFactory(
        state=Complaint.State.NEW,
        subject="The oldest report",
        received_at=timezone.now() - timedelta(days=3),
    )
    login(abuse_user)
    page.goto(f"{live_server.url}/complaints/?state=new")
    nav = page.get_by_role("navigation", name="Pages")
    assert nav.get_by_role("link", name="← Previous").count() == 0

    nav.get_by_role("link", name="Last »").click()
    page.wait_for_load_state()
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 50
    assert "The oldest report" in rows.last.inner_text()
    assert nav.get_by_role("link", name="Next →").count() == 0

    nav.get_by_role("link", name="← Previous").click()
    page.wait_for_load_state()
    assert "The oldest report" not in page.locator("#queue").inner_text()
    nav.get_by_role("link", name="Next →").click()
    page.wait_for_load_state()
    assert oldest.reference in page.locator("#queue").inner_text()
    nav.get_by_role("link", name="« First").click()
    page.wait_for_url("**/complaints/?state=new")
