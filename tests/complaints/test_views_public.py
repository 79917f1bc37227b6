"""The public report form and status page, through the test client."""

import django_rq
import pytest
from django.core import mail
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from complaints import services
from complaints.models import Complaint, InboundMessage, Mailing
from complaints.services import public_reports
from tests.accounts.factories import MailAccountFactory
from tests.complaints.mail import reported_message

pytestmark = pytest.mark.django_db

FORM = reverse("complaints:report_form")
DONE = reverse("complaints:report_done")
STATUS = reverse("complaints:report_status")


@pytest.fixture(autouse=True)
def empty_cache():
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def bob(db):
    return MailAccountFactory(
        login="bob",
        address="bob@isp.example",
        subscriber__name="Robert Secretname",
        subscriber__account_number="A7777777",
    )


def _report(client, **fields):
    data = {
        "name": "Jo Example",
        "email": "jo@example.org",
        "what_happened": "I never signed up for this.",
        "headers": reported_message(login="bob", subject="Cheap pills"),
        "website": "",
    }
    data.update(fields)
    return client.post(FORM, {k: v for k, v in data.items() if v is not None})


def _reference(client) -> str:
    return client.session["web_report"]["reference"]


def _process_pending() -> None:
    pending = InboundMessage.objects.filter(state=InboundMessage.State.PENDING)
    for pk in pending.values_list("pk", flat=True):
        services.inbound_process(inbound_id=pk)


def _status(client, reference, email="jo@example.org"):
    return client.post(STATUS, {"reference": reference, "email": email})


def test_form_has_a_label_for_every_field_and_a_csrf_token(client):
    response = client.get(FORM)
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("name", "email", "what_happened", "headers", "eml"):
        assert f'<label for="id_{field}">' in html
    assert "csrfmiddlewaretoken" in html
    assert 'enctype="multipart/form-data"' in html
    assert 'aria-describedby="id_email_helptext"' in html


def test_pasted_headers_are_stored_as_a_web_form_message_with_the_reference(client):
    response = _report(client)
    assert response.status_code == 302
    assert response["Location"] == DONE
    reference = _reference(client)
    assert reference not in response["Location"]
    inbound = InboundMessage.objects.get()
    raw = bytes(inbound.raw)
    assert inbound.channel == InboundMessage.Channel.WEB_FORM
    assert f"X-Abuse-Desk-Reference: {reference}".encode() in raw
    assert b"Content-Type: text/rfc822-headers" in raw
    assert b"From: Jo Example <jo@example.org>" in raw
    done = client.get(DONE)
    assert reference in done.content.decode()


def test_uploaded_eml_is_attached_byte_for_byte(client):
    eml = (reported_message(login="bob") + "\r\nBuy now!\r\n").encode()
    upload = SimpleUploadedFile("spam.eml", eml, content_type="message/rfc822")
    response = _report(client, headers="", eml=upload)
    assert response.status_code == 302
    raw = bytes(InboundMessage.objects.get().raw)
    assert b"Content-Type: message/rfc822" in raw
    assert eml.rstrip(b"\r\n") in raw


def test_processing_records_a_web_form_complaint_linked_by_login(
    client, bob, django_capture_on_commit_callbacks, run_jobs
):
    django_rq.get_queue("default").empty()
    _report(client)
    with django_capture_on_commit_callbacks(execute=True):
        _process_pending()
    run_jobs("default")
    complaint = Complaint.objects.get()
    assert complaint.channel == Complaint.Channel.WEB_FORM
    assert complaint.complainant_email == "jo@example.org"
    assert complaint.subscriber == bob.subscriber
    assert complaint.login == "bob"
    assert [message.to for message in mail.outbox] == [["jo@example.org"]]


def test_complaint_takes_the_reference_shown_on_the_form(client, bob):
    _report(client)
    reference = _reference(client)
    _process_pending()
    assert Complaint.objects.get().reference == reference


def test_oversize_upload_gets_a_clear_error_and_nothing_is_stored(client, settings):
    settings.ABUSE_REPORT_MAX_BYTES = 2000
    eml = (reported_message() + "\r\n" + "x" * 5000).encode()
    upload = SimpleUploadedFile("big.eml", eml, content_type="message/rfc822")
    response = _report(client, headers="", eml=upload)
    assert response.status_code == 200
    html = response.content.decode()
    assert "the most we accept is 2.0\xa0KB" in html
    assert 'aria-invalid="true"' in html
    assert not InboundMessage.objects.exists()


def test_oversize_pasted_headers_get_a_clear_error(client, settings):
    settings.ABUSE_REPORT_MAX_BYTES = 500
    response = _report(client, headers=reported_message() * 3)
    assert "the most we accept is 500\xa0bytes" in response.content.decode()
    assert not InboundMessage.objects.exists()


def test_body_over_the_request_limit_answers_413_and_stores_nothing(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = _report(client, headers=reported_message() * 3)
    assert response.status_code == 413
    assert "the most we accept is" in response.content.decode()
    assert not InboundMessage.objects.exists()


def test_malformed_headers_are_stored_and_flagged(client):
    pasted = "Received: from mx.example\nfrom some guy, sent yesterday\n"
    response = _report(client, headers=pasted)
    assert response.status_code == 302
    inbound = InboundMessage.objects.get()
    raw = bytes(inbound.raw)
    assert b"X-Abuse-Desk-Flag: malformed-headers" in raw
    assert b"from some guy, sent yesterday" in raw
    _process_pending()
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.PROCESSED
    complaint = Complaint.objects.get()
    assert complaint.state == Complaint.State.NEW
    assert complaint.subscriber is None


def test_filled_honeypot_stores_nothing(client):
    response = _report(client, website="http://spam.example")
    assert response.status_code == 200
    assert not InboundMessage.objects.exists()


def test_missing_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)
    response = _report(client)
    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


def test_identical_report_filed_twice_shows_the_earlier_reference(client):
    headers = reported_message(login="bob")
    _report(client, headers=headers)
    first = _reference(client)
    response = _report(client, headers=headers, what_happened="Sent again.")
    assert response.status_code == 302
    assert _reference(client) == first
    assert InboundMessage.objects.count() == 1
    assert "already sent us this report" in client.get(DONE).content.decode()


def test_same_message_from_another_person_is_a_new_report(client):
    headers = reported_message(login="bob")
    _report(client, headers=headers)
    _report(client, headers=headers, email="someone.else@example.org")
    assert InboundMessage.objects.count() == 2


def test_reports_over_the_ip_limit_get_429(client, monkeypatch):
    monkeypatch.setattr(public_reports, "REPORTS_PER_IP_PER_HOUR", 2)
    for number in range(2):
        assert _report(client, what_happened=f"report {number}").status_code == 302
    response = _report(client, headers=reported_message(subject="Another"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many requests" in response.content.decode()
    assert InboundMessage.objects.count() == 2


def test_reports_over_the_address_limit_get_429(client, monkeypatch):
    monkeypatch.setattr(public_reports, "REPORTS_PER_EMAIL_PER_HOUR", 1)
    assert _report(client).status_code == 302
    other = Client(REMOTE_ADDR="198.51.100.200")
    response = _report(other, headers=reported_message(subject="Another"))
    assert response.status_code == 429


def test_status_lookups_over_the_limit_get_429(client, monkeypatch):
    monkeypatch.setattr(public_reports, "STATUS_LOOKUPS_PER_IP_PER_HOUR", 1)
    assert _status(client, "C-AAAA-BBBB").status_code == 200
    assert _status(client, "C-AAAA-BBBB").status_code == 429


def test_complaint_text_is_never_echoed_as_html(client):
    response = _report(client, email="", what_happened="<script>alert(1)</script>")
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_done_page_without_a_report_goes_back_to_the_form(client):
    response = client.get(DONE)
    assert response.status_code == 302
    assert response["Location"] == FORM


def test_status_of_a_report_still_in_the_queue_is_received(client):
    _report(client)
    response = _status(client, _reference(client).lower())
    assert "Received" in response.content.decode()


def test_status_needs_the_address_that_filed_the_report(client):
    _report(client)
    response = _status(client, _reference(client), email="other@example.org")
    assert "could not find a report" in response.content.decode()


def test_status_reveals_nothing_about_the_subscriber(client, bob):
    _report(client)
    reference = _reference(client)
    _process_pending()
    complaint = Complaint.objects.get()
    assert complaint.subscriber == bob.subscriber
    Mailing.objects.filter(pk=complaint.mailing_id).update(state=Mailing.State.STRUCK)
    html = _status(client, reference).content.decode()
    assert "Action taken" in html
    for secret in ("Robert", "Secretname", "A7777777", "bob", "Cheap pills"):
        assert secret not in html.split("<main")[1], secret


def test_status_of_a_linked_complaint_is_under_review(client, bob):
    _report(client)
    reference = _reference(client)
    _process_pending()
    assert "Under review" in _status(client, reference).content.decode()


def test_status_of_an_emailed_complaint_is_found_by_its_reference(client):
    from tests.complaints.factories import ComplaintFactory

    ComplaintFactory(reference="C-EMAI-L234", complainant_email="Jo@Example.org")
    html = _status(client, "c-emai-l234").content.decode()
    assert "Report C-EMAI-L234: Received" in html


def test_header_problems_accepts_real_headers_and_names_broken_ones():
    assert public_reports.header_problems(reported_message().encode()) == []
    assert public_reports.header_problems(b"just some words\n") == [
        "it does not start with a header line"
    ]
    assert public_reports.header_problems(b"X-Thing: 1\nnot a header\n") == [
        "line 2 is not a header",
        "no Received, From, Message-ID or Date header",
    ]


def test_text_that_is_no_mail_is_refused_with_the_way_to_find_headers(client):
    response = _report(client, headers="hello, here is what I got:\nbuy pills\n")
    text = response.content.decode()
    assert response.status_code == 200
    assert "This does not look like an email message: it has no header lines" in text
    assert (
        "How to find a message&#x27;s headers" in text
        or "How to find a message's headers" in text
    )
    for client_name in ("Gmail", "Outlook", "Apple Mail", "Thunderbird", "Yahoo"):
        assert client_name in text
    assert '<details class="header-help" id="header-help" open>' in text
    assert not InboundMessage.objects.exists()


def test_a_binary_upload_is_refused(client):
    upload = SimpleUploadedFile("photo.eml", b"\x89PNG\r\n\x1a\n\x00\x00binary")
    response = _report(client, headers=None, eml=upload)
    assert "it is binary data" in response.content.decode()
    assert not InboundMessage.objects.exists()


def test_a_description_alone_is_accepted_and_marked_without_evidence(client):
    response = _report(client, headers="", no_headers="on")
    assert response.status_code == 302
    raw = bytes(InboundMessage.objects.get().raw)
    assert b"X-Abuse-Desk-Evidence: none" in raw
    assert b"X-Abuse-Desk-Flag" not in raw
    _process_pending()
    complaint = Complaint.objects.get()
    assert complaint.is_without_evidence
    assert complaint.complainant_text == "I never signed up for this."
    assert complaint.needs_acknowledgment


def test_without_headers_or_the_tick_the_form_asks_for_them(client):
    response = _report(client, headers="")
    assert "If you cannot get them, tick" in response.content.decode()
    assert not InboundMessage.objects.exists()


def test_public_pages_name_the_isp_and_its_contact(client, settings):
    settings.ABUSE_ISP_NAME = "Harbour Net"
    settings.ABUSE_ISP_CONTACT = "abuse@harbour.example"
    text = client.get(FORM).content.decode()
    assert "abuse desk of <strong>Harbour Net</strong>" in text
    assert "mailto:abuse@harbour.example" in text
