"""The last-resort readers guess the failed recipient only from telling shapes."""

from complaints.ingest import lastresort
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
