"""A complainant files reports in Chromium, gets a reference and checks its status."""

import re

import django_rq
import pytest
from django.core.cache import caches
from playwright.sync_api import expect

from complaints import services
from complaints.models import Complaint, InboundMessage
from tests.accounts.factories import MailAccountFactory
from tests.complaints.mail import reported_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFERENCE_RE = re.compile(r"^C-[A-Z2-9]{4}-[A-Z2-9]{4}$")


@pytest.fixture(autouse=True)
def clean_slate():
    caches["default"].clear()
    yield
    caches["default"].clear()
    django_rq.get_queue("ingest").empty()


@pytest.fixture
def bob(transactional_db):
    return MailAccountFactory(login="bob", address="bob@isp.example")


def _fill_about(page, live_server, what: str) -> None:
    page.goto(f"{live_server.url}/report/")
    page.get_by_label("Your name (optional)").fill("Jo Example")
    page.get_by_label("Your email address").fill("jo@example.org")
    page.get_by_label("What happened?").fill(what)


def _reference(page) -> str:
    expect(page).to_have_url(re.compile(r"/report/done/$"))
    reference = page.locator("#reference").inner_text().strip()
    assert REFERENCE_RE.match(reference)
    return reference


def _run_worker() -> None:
    """The worker step, in process: what the RQ job would do."""
    pending = InboundMessage.objects.filter(state=InboundMessage.State.PENDING)
    for pk in pending.values_list("pk", flat=True):
        services.inbound_process(inbound_id=pk)


def _check_status(page, live_server, reference: str) -> None:
    page.goto(f"{live_server.url}/report/status/")
    page.get_by_label("Reference number").fill(reference)
    page.get_by_label("The email address you reported from").fill("jo@example.org")
    page.get_by_role("button", name="Check status").click()


def test_complainant_reports_pasted_headers_and_checks_the_status(
    page, live_server, screenshot, bob
):
    _fill_about(page, live_server, "I never signed up for this <b>spam</b>.")
    screenshot("public_report_form")
    page.get_by_label("Paste the message's full headers").fill(
        reported_message(login="bob", subject="Cheap pills")
    )
    page.get_by_role("button", name="Send report").click()
    reference = _reference(page)
    screenshot("public_report_done")

    _check_status(page, live_server, reference)
    expect(page.get_by_role("status")).to_contain_text("Received")

    _run_worker()
    assert Complaint.objects.get().channel == Complaint.Channel.WEB_FORM
    _check_status(page, live_server, reference)
    expect(page.get_by_role("status")).to_contain_text(f"Report {reference}")
    expect(page.get_by_role("status")).to_contain_text("Under review")
    expect(page.locator("main")).not_to_contain_text("bob")
    screenshot("public_report_status")


def test_complainant_uploads_an_eml_file_and_checks_the_status(
    page, live_server, screenshot, bob, tmp_path
):
    eml = tmp_path / "spam.eml"
    eml.write_bytes((reported_message(login="bob") + "\r\nBuy now!\r\n").encode())
    _fill_about(page, live_server, "Got this three times this week.")
    page.get_by_label("Or upload the message as a file (.eml)").set_input_files(eml)
    page.get_by_role("button", name="Send report").click()
    reference = _reference(page)

    _run_worker()
    _check_status(page, live_server, reference)
    expect(page.get_by_role("status")).to_contain_text("Under review")
    screenshot("public_report_status_eml")


def test_form_errors_are_announced_and_tied_to_their_fields(
    page, live_server, screenshot
):
    page.goto(f"{live_server.url}/report/")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("alert")).to_contain_text("Please check the form")
    email = page.get_by_label("Your email address")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_attribute(
        "aria-describedby", "id_email_error id_email_helptext"
    )
    screenshot("public_report_errors")
    assert not InboundMessage.objects.exists()


def test_form_works_from_the_keyboard(page, live_server):
    page.goto(f"{live_server.url}/report/")
    page.get_by_label("Your name (optional)").focus()
    focused = []
    for _ in range(7):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id"))
    assert focused == [
        "id_email",
        "id_what_happened",
        "id_headers",
        "id_eml",
        "",  # "How to find a message's headers"
        "id_no_headers",
        "",  # the submit button; the honeypot is skipped
    ]
    assert page.evaluate("document.activeElement.textContent") == "Send report"


def test_garbage_gets_the_explanation_and_nothing_is_stored(
    page, live_server, screenshot
):
    _fill_about(page, live_server, "I keep getting this.")
    page.get_by_label("Paste the message's full headers").fill(
        "hey!!! buy cheap stuff now, click here"
    )
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#id_headers_error")).to_contain_text(
        "This does not look like an email message"
    )
    help_box = page.locator("#header-help")
    expect(help_box).to_have_attribute("open", "")
    for client_name in ("Gmail", "Outlook", "Apple Mail", "Thunderbird", "Yahoo Mail"):
        expect(help_box.get_by_text(client_name, exact=True)).to_be_visible()
    screenshot("public_report_not_mail")
    assert not InboundMessage.objects.exists()

    # Who cannot get the headers sends the description alone.
    page.get_by_label("Paste the message's full headers").fill("")
    page.get_by_label("I cannot get the headers: send my description only").check()
    page.get_by_role("button", name="Send report").click()
    _reference(page)
    _run_worker()
    assert Complaint.objects.get().is_without_evidence
