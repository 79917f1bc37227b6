"""complaints.ingest.original: what a reported message says for linking."""

from complaints.ingest import classify
from complaints.ingest.arf import find_pasted_headers


def _report(headers: str) -> bytes:
    return (
        "From: person@example.net\r\nTo: abuse@isp.example\r\nSubject: spam\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nThis is spam, please stop it.\r\n"
        '--b\r\nContent-Type: application/octet-stream; name="spam.eml"\r\n'
        'Content-Disposition: attachment; filename="spam.eml"\r\n\r\n'
        f"{headers}\r\nbody\r\n--b--\r\n"
    ).encode()


def test_a_saved_eml_attachment_is_the_reported_message():
    report = classify(
        _report("From: news@shop.example\r\nSubject: Deals\r\nMessage-ID: <a@b>\r\n")
    )
    assert report.kind == "complaint"
    assert report.original.message_id == "<a@b>"


def test_a_relays_login_header_is_read():
    headers = (
        "X-Get-Message-Sender-Via: smtp2.out.isp.example: authenticated_id: shop.news\r\n"
        "From: news@shop.example\r\nSubject: Deals\r\n"
    )
    assert classify(_report(headers)).original.login == "shop.news"


def test_a_resent_report_has_the_same_fingerprint_and_another_recipients_differs():
    first = classify(
        _report("To: a@example.org\r\nFrom: n@s.example\r\nSubject: X\r\n")
    )
    again = classify(
        _report("To: a@example.org\r\nFrom: n@s.example\r\nSubject: X\r\n")
    )
    other = classify(
        _report("To: b@example.org\r\nFrom: n@s.example\r\nSubject: X\r\n")
    )
    assert first.original.fingerprint == again.original.fingerprint
    assert first.original.fingerprint != other.original.fingerprint


def test_localised_forward_headers_are_read_as_their_english_fields():
    text = (
        "-------- Doorgestuurd bericht --------\nOnderwerp: Nieuwsbrief\n"
        "Datum: zo 13 sep. 2026 02:42\nVan: Shop <news@shop.example>\nAan: a@b.example\n"
    )
    headers = find_pasted_headers(text)
    assert headers["From"] == "Shop <news@shop.example>"
    assert headers["Subject"] == "Nieuwsbrief"


def test_pasted_headers_that_lost_their_folding_indent_keep_the_login():
    text = (
        "Received: from pc (unknown [203.0.113.9])\n(Authenticated sender: bob)\n"
        "by relay.isp.example (Postfix) with ESMTPSA id 4Q1; Fri, 4 Sep 2026 10:00:00 +0000\n"
        "From: news@shop.example\nSubject: Deals\n\nprose after a blank line\n"
    )
    headers = find_pasted_headers(text)
    assert "(Authenticated sender: bob)" in headers["Received"]
    assert headers["Subject"] == "Deals"


def test_a_blocklist_notice_names_the_listed_address_and_when_it_was_seen():
    raw = (
        b"From: Blocklist <noreply@blocklist.example>\r\nTo: abuse@isp.example\r\n"
        b"Subject: [BL-1] 198.51.100.7 listed for spam\r\n\r\n"
        b"The address 198.51.100.7 has been listed.\r\nReason: spam sent to our traps.\r\n"
        b"Last observed: 2026-09-16 12:22:04 UTC\r\n"
    )
    report = classify(raw)
    assert report.kind == "complaint"
    assert report.original.source_ip == "198.51.100.7"
    assert report.original.arrival_date == "2026-09-16 12:22:04 UTC"


def test_a_trace_header_under_another_name_stands_in_for_the_configured_one():
    headers = "X-VL-Trace: ef086fd7a793850d04d4\r\nFrom: n@s.example\r\nSubject: X\r\n"
    assert classify(_report(headers)).original.trace == "ef086fd7a793850d04d4"
