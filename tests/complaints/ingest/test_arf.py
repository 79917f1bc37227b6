"""RFC 5965 feedback reports, forwarded spam and pasted headers."""

import pytest

from complaints.ingest import arf, parse
from complaints.ingest.original import find_login, first_external_ip, received_ips


def test_feedback_report_fields_repeat_and_are_lowercased(email_bytes):
    msg = parse.parse_bytes(email_bytes("arf_multiple_rcpt_to.eml"))
    assert arf.is_feedback_report(msg)
    report = arf.read_feedback_report(msg)
    assert report.feedback_type == "abuse"
    assert report.fields["original-rcpt-to"] == [
        "<first@isp.example.net>",
        "<second@isp.example.net>",
    ]


def test_feedback_report_sent_as_text_plain_is_still_read(email_bytes):
    msg = parse.parse_bytes(email_bytes("arf_broken_text_plain_report.eml"))
    report = arf.read_feedback_report(msg)
    assert report.user_agent == "WebmailFBL/0.9"


def test_feedback_type_is_lowercased():
    report = arf.FeedbackReport({"feedback-type": ["Abuse"]})
    assert report.feedback_type == "abuse"


def test_missing_feedback_type_means_abuse():
    assert arf.FeedbackReport({}).feedback_type == "abuse"


def test_headers_only_original_is_returned_as_a_message(email_bytes):
    msg = parse.parse_bytes(email_bytes("arf_comcast_headers_only.eml"))
    original = arf.reported_message(msg)
    assert parse.header(original, "Subject") == "Spring offers for members"


PASTED = """Hi, this spam again:

Received: from smtp.example.com (smtp.example.com [203.0.113.25])
\tby mx.example.net with ESMTP id 1234
Message-ID: <abc@example.com>
From: Shop <shop@example.com>
Subject: Deals

Thanks.
"""


def test_pasted_header_block_is_found_in_free_text():
    headers = arf.find_pasted_headers(PASTED)
    assert parse.header(headers, "Message-ID") == "<abc@example.com>"
    assert parse.header(headers, "Subject") == "Deals"


def test_quoted_pasted_headers_are_unquoted():
    quoted = "\n".join("> " + line for line in PASTED.splitlines())
    headers = arf.find_pasted_headers(quoted)
    assert parse.header(headers, "From") == "Shop <shop@example.com>"


def test_prose_with_a_colon_is_not_a_header_block():
    assert arf.find_pasted_headers("Note: I hate this.\nAlso: stop it.\n") is None


def test_complaint_words_are_recognised():
    assert arf.looks_like_complaint("Please stop sending me SPAM")
    assert not arf.looks_like_complaint("When is my invoice due?")


@pytest.mark.parametrize(
    ("text", "complains"),
    [
        ("spam", True),
        ("This is Spam.", True),
        ("more spammers", True),
        ("(abuse)", True),
        ("junkmail again", True),
        ("UCE", True),
        ("a scam", True),
        # Words that must begin a word do not count inside one.
        ("antispam gateway", False),
        ("report_spam", False),
        ("reduce costs", False),
        ("a tube of paste", False),
        ("1spam", False),
        ("éspam", False),
        # A word inside another is found after the one that does not count.
        ("antispam, then spam", True),
        ("antispam and unsolicited", True),
    ],
)
def test_word_start_complaint_words_count_only_at_a_word_start(text, complains):
    assert arf.says_complaint_words(text.lower()) is complains


def test_postfix_authenticated_sender_is_the_login():
    received = [
        "from mx (mx [198.51.100.5]) by inbox with ESMTP id 1",
        "from pc (dyn [198.51.100.77]) (Authenticated sender: cust1042) by smtp id 2",
    ]
    assert find_login(received) == "cust1042"


def test_exim_and_courier_logins_are_recognised():
    assert (
        find_login(["from x by y with esmtpsa authenticated as cust9 id 1"]) == "cust9"
    )
    assert find_login(["from x (AUTH: LOGIN cust7, TLS: TLSv1.3) by y"]) == "cust7"
    assert find_login(["from x by y with ESMTPSA id 1 auth=cust5"]) == "cust5"


def test_source_ip_is_the_oldest_external_received_ip():
    received = [
        "from mx.example.net ([198.51.100.5]) by inbox.example.net",
        "from [192.168.1.20] (dyn.example.com [203.0.113.77]) by smtp.example.com",
        "from localhost ([127.0.0.1]) by pc.local",
    ]
    assert first_external_ip(received) == "203.0.113.77"


def test_received_ips_ignore_the_by_clause_and_read_ipv6():
    assert received_ips("from a ([IPv6:2001:db8::5]) by b ([192.0.2.9])") == [
        "2001:db8::5"
    ]
