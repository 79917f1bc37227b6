"""Abuse staff's main path in Chromium: queue, complaint, link, strike, held batch;
and hostile content that must stay inert in a real browser."""

import re

import pytest

from complaints.models import Complaint, Mailing, Strike
from tests.accounts.factories import SubscriberFactory
from tests.complaints.factories import (
    ComplaintFactory,
    InboundMessageFactory,
    MailingFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_filter_open_link_and_strike(
    page, live_server, login, abuse_user, screenshot
):
    subscriber = SubscriberFactory(account_number="A7001", name="Shop Owner")
    mailing = MailingFactory(subscriber=subscriber, subject="Spring sale on watches")
    target = ComplaintFactory(subject="Spring sale on watches", reference="C-TEST-0001")
    ComplaintFactory(subject="Unrelated newsletter", reference="C-TEST-0002")

    login(abuse_user)
    screenshot("dashboard")
    page.goto(f"{live_server.url}/complaints/")
    page.get_by_label("Subject or sender contains").fill("spring")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 1
    screenshot("complaint_queue_filtered")

    # Keyboard: j selects the first row, Enter opens it.
    page.locator("body").press("j")
    page.locator("body").press("Enter")
    page.wait_for_url(re.compile(rf"/complaints/{target.pk}/(\?.*)?$"))
    screenshot("complaint_detail")

    page.get_by_label("Find a mailing (number, account number or subject)").fill(
        "spring"
    )
    page.get_by_role("button", name="Search").click()
    page.get_by_label(f"#{mailing.pk}", exact=False).check()
    page.get_by_role("button", name="Link", exact=True).click()
    assert page.get_by_text(f"Linked to mailing #{mailing.pk}.").is_visible()
    target.refresh_from_db()
    assert target.state == Complaint.State.LINKED

    page.get_by_role("link", name=f"#{mailing.pk}", exact=False).first.click()
    page.wait_for_url(f"**/mailings/{mailing.pk}/")
    assert page.locator("#live-strikes").inner_text().startswith("0 of 3")
    page.get_by_label("I have checked the evidence").check()
    page.get_by_role("button", name="Issue strike").click()
    assert page.locator("#live-strikes").inner_text().startswith("1 of 3")
    screenshot("mailing_struck")
    assert Strike.objects.filter(mailing=mailing).count() == 1

    page.get_by_role("link", name="A7001 Shop Owner").click()
    assert page.get_by_role("cell", name="Spring sale on watches").first.is_visible()
    screenshot("subscriber_page")


def test_staff_review_a_held_batch_and_release_it(
    page, live_server, login, abuse_user, screenshot
):
    mailing = MailingFactory(
        state=Mailing.State.HELD,
        source=Mailing.Source.HOLD,
        subject="Monthly newsletter",
        held_recipients=["reader@example.com", "not-an-address", "friend@example.org"],
        recipient_count=3,
    )
    login(abuse_user)
    page.goto(f"{live_server.url}/mailings/{mailing.pk}/")
    held = page.locator("#held")
    assert held.get_by_text("not-an-address invalid format").is_visible()
    screenshot("held_batch")
    held.get_by_label("Release this batch").check()
    held.get_by_role("button", name="Release").click()
    assert page.get_by_text(
        "Batch released: its messages are being let go."
    ).is_visible()
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.RELEASED


def test_hostile_complaint_stays_inert_and_readable(
    page, live_server, login, abuse_user, screenshot
):
    hostile = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><b>loud</b> \u202egnp.exe'
    long_line = "A" * 1_000_000
    raw = f"Subject: {hostile}\r\nFrom: {hostile}\r\n\r\n{hostile}\r\n{long_line}\r\n".encode()
    complaint = ComplaintFactory(
        subject=hostile, header_from=hostile, inbound=InboundMessageFactory(raw=raw)
    )
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(abuse_user)
    page.goto(f"{live_server.url}/complaints/{complaint.pk}/")
    screenshot("hostile_complaint", full_page=False)

    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert page.locator("main b").count() == 0
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0
    subject = page.locator("dl.facts dd").filter(has_text="gnp.exe").first.inner_text()
    assert "<script>window.__pwned=1</script>" in subject
    assert "<U+202E>gnp.exe" in subject
    # The long line wraps inside its box instead of widening the page.
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]
    page.goto(f"{live_server.url}/complaints/?text=pwned")
    assert page.evaluate("window.__pwned") is None
    screenshot("hostile_queue")
