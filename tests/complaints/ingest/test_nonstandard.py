"""Failed addresses are read from non-DSN bounce text, with their explanation."""

import pytest

from complaints.ingest.nonstandard import Notice, find_failures


def _addresses(text: str) -> list[str]:
    return [f.address for f in find_failures(Notice(text), exclude=set())]


@pytest.mark.parametrize(
    "line",
    [
        "The following message, addressed to 'user1@example.org',",
        "The address to which your message was addressed, user1@example.org, did",
        "Error-for:  user1@example.org",
        "Invalid final delivery userid: user1@example.org",
        "    (generated from user1@example.org)",
    ],
)
def test_address_after_a_lead_in_phrase_is_a_failed_recipient(line):
    assert _addresses(f"Something went wrong.\n\n{line}\n") == ["user1@example.org"]


def test_address_after_from_is_the_sender_not_a_recipient():
    text = "Delivery failed: they are not accepting mail from offers@example.com\n"
    assert _addresses(text) == []


def test_quoted_original_below_the_cut_is_never_read():
    text = (
        "Delivery to the following recipients failed.\n\n"
        "   user1@example.org\n\n"
        "------ This is a copy of the message, including all the headers. ------\n"
        "To: user2@example.org\n"
        "user2@example.org: 550 no such user\n"
    )
    assert _addresses(text) == ["user1@example.org"]
