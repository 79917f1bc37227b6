"""Failed addresses are read from non-DSN bounce text, with their explanation."""

import re

import pytest

from complaints.ingest import nonstandard
from complaints.ingest.nonstandard import Notice, find_failures

from .conftest import same_matches


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


def test_address_alone_under_a_message_sent_by_line_is_the_sender():
    # Exim names the sender on a line of its own under "A message sent by".
    text = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message sent by\n\n  <news@example.com>\n\n"
        "could not be delivered to one or more of its recipients. The following\n"
        "address(es) failed:\n\n  user1@example.org\n"
        "    all hosts have been failing for a long time\n"
    )
    assert _addresses(text) == ["user1@example.org"]


def test_generated_from_under_an_unreadable_address_is_no_failure_of_its_own():
    text = (
        "The following address(es) failed:\n\n  user1@bad_domain\n"
        "    (ultimately generated from alias@example.org)\n"
        "    all hosts have been failing for a long time\n"
    )
    assert _addresses(text) == []


def test_scanning_banner_is_never_the_global_diagnostic():
    notice = Notice(
        "Delivery to the following recipients failed.\n\n   user1@example.org\n\n"
        "**** This email has come from the internet and has been scanned for all"
        " viruses and potentially offensive content by ExampleLabs ****\n"
    )
    assert notice.global_diagnostic is None


def test_quoted_original_below_the_cut_is_never_read():
    text = (
        "Delivery to the following recipients failed.\n\n"
        "   user1@example.org\n\n"
        "------ This is a copy of the message, including all the headers. ------\n"
        "To: user2@example.org\n"
        "user2@example.org: 550 no such user\n"
    )
    assert _addresses(text) == ["user1@example.org"]


# The cut-marker pattern as written before its branches shared one "^".
_FORMER_CUT_RE = re.compile(
    r"^[ \t>]*[-=*_]{2,}[ \t]*(this is a copy|below this line|original message"
    r"|the original message|returned message|message (text|body|header)s?"
    r" follows?|unsent message|undelivered message|forwarded message"
    r"|headers? of (the )?original|original mail)"
    r"|^[ \t]*(original message follows|the original message (headers?|follows)"
    r"|original message (headers|details)|returned mail follows"
    r"|your message (reads|follows)"
    r"|message headers follow|----- message text -----|--- below this line"
    r"|\*+ ?message header follows)"
    r"|^(return-path|received|dkim-signature|arc-seal|x-received|message-id)"
    r"[ \t]*:[ \t]*\S",
    re.I | re.M,
)


def test_the_cut_marker_pattern_finds_what_its_former_form_found(probe_texts):
    alphabet = "\n\n \t>-=*_:original message follows Received: Return-path x"
    for text in probe_texts(alphabet):
        assert same_matches(_FORMER_CUT_RE, nonstandard._CUT_RE, text), repr(text)


def _cut_at_line_starts(text: str) -> str:
    """``cut_original`` as it read the markers, at every line start."""
    for match in nonstandard._CUT_RE.finditer(text):
        if text[: match.start()].strip():
            return text[: match.start()]
    return text


def test_the_notice_is_cut_where_a_marker_opens_a_line(probe_texts):
    alphabet = "\n\n \t>-=*_:original message follows Received: Return-path x"
    for text in probe_texts(alphabet):
        assert nonstandard.cut_original(text) == _cut_at_line_starts(text), repr(text)


# The notice patterns as written before each branch opened with a literal;
# they are only ever asked whether they occur.
_FORMER_OCCURRENCE_RES = {
    "FAILURE_TEXT_RE": re.compile(
        nonstandard.FAILURE_TEXT_RE.pattern.replace(
            "|was (automatically )?rejected|been (automatically )?rejected",
            "|(was|been) (automatically )?rejected",
        )
    ),
    "_SURE_WARNING_RE": re.compile(
        nonstandard._SURE_WARNING_RE.pattern.replace(
            "attempts will continue|delivery will continue",
            "(attempts|delivery) will continue",
        )
    ),
    "_FATAL_RE": re.compile(
        nonstandard._FATAL_RE.pattern.replace(
            r"|5(?<!\S5)\d\d[\s-]|5\.\d{1,3}\.\d{1,3}",
            r"|(^|\s)5\d\d[\s-]|#?5\.\d{1,3}\.\d{1,3}",
        )
    ),
    "_HEADING_RE": re.compile(
        nonstandard._HEADING_RE.pattern.replace(r"t(?<!\wt)o:\s*$", r"\bto:\s*$")
    ),
}


@pytest.mark.parametrize("name", sorted(_FORMER_OCCURRENCE_RES))
def test_notice_patterns_occur_where_their_former_forms_did(name, probe_texts):
    new, former = getattr(nonstandard, name), _FORMER_OCCURRENCE_RES[name]
    assert new.pattern != former.pattern
    alphabet = "\n\t #5.-0123to:wasbeen automatically rejected delivery attempts"
    for text in probe_texts(alphabet):
        for sample in (text, text.lower()):
            found = new.search(sample) is not None
            assert found == (former.search(sample) is not None), repr(sample)
