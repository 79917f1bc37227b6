"""The last-resort readers guess the failed recipient only from telling shapes."""

from complaints.ingest import lastresort, parse
from complaints.ingest.nonstandard import Notice

SUMMARY = """I'm afraid I wasn't able to deliver the following message.
This is a permanent error; I've given up.

Subject: Spring offers
To: user1@example.org
"""

AOL = """Your mail to the following recipients could not be delivered because
they are not accepting mail from offers@example.com:
\tmember42
"""


def test_summary_addressee_is_the_single_to_line_of_a_failure_notice():
    assert lastresort.summary_addressee(Notice(SUMMARY), set()) == ["user1@example.org"]


def test_summary_addressee_skips_excluded_addresses():
    assert lastresort.summary_addressee(Notice(SUMMARY), {"user1@example.org"}) == []


def test_summary_addressee_needs_failure_wording():
    assert (
        lastresort.summary_addressee(Notice("Hello\nTo: a@example.org\n"), set()) == []
    )


def test_several_to_lines_are_a_conversation_not_a_summary():
    text = SUMMARY + "To: user2@example.org\n"
    assert lastresort.summary_addressee(Notice(text), set()) == []


def test_bare_local_part_under_a_heading_takes_the_senders_domain():
    found = lastresort.bare_local_parts(Notice(AOL), "aol.example.com")
    assert found == ["member42@aol.example.com"]


def test_bare_local_part_needs_a_domain():
    assert lastresort.bare_local_parts(Notice(AOL), None) == []


def test_word_followed_by_prose_is_not_a_bare_local_part():
    text = AOL.replace("member42", "member42 (0), ErrMsg=mail box space not enough")
    assert lastresort.bare_local_parts(Notice(text), "aol.example.com") == []


def test_sender_domain_is_read_from_the_from_header():
    assert lastresort.sender_domain('"Daemon" <MAILER-DAEMON@AOL.example.com>') == (
        "aol.example.com"
    )
    assert lastresort.sender_domain(None) is None


def _headers(text: str):
    return parse.parse_header_block(text)


RETURNED = """Received: from smtp.example.com (smtp.example.com [203.0.113.25])
\tby mx1.example.net with ESMTPS id 4QXYZ1abcD
\tfor <user@example.org>; Mon,  4 Mar 2024 09:58:12 +0100
From: Example Shop <offers@example.com>
To: Some Customer <customer@example.org>
"""


def test_original_addressee_prefers_the_envelope_recipient_received_for():
    assert lastresort.original_addressee(_headers(RETURNED), set()) == [
        "user@example.org"
    ]


def test_original_addressee_falls_back_to_the_single_to_address():
    headers = _headers("From: offers@example.com\nTo: Someone <one@example.org>\n")
    assert lastresort.original_addressee(headers, set()) == ["one@example.org"]


def test_original_addressee_refuses_to_pick_among_several_recipients():
    headers = _headers("To: one@example.org, two@example.net\n")
    assert lastresort.original_addressee(headers, set()) == []


def test_original_addressee_skips_the_notice_parties():
    headers = _headers("To: offers@example.com\n")
    assert lastresort.original_addressee(headers, {"offers@example.com"}) == []


def test_original_addressee_never_guesses_for_list_mail():
    headers = _headers(RETURNED + "List-Id: Members <members.lists.example.com>\n")
    assert lastresort.original_addressee(headers, set()) == []
    assert lastresort.original_addressee(None, set()) == []
