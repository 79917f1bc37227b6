"""The complainant's words from a web-form report. Pure."""

from complaints.ingest.webform import complainant_words


def _report(text: str) -> bytes:
    return (
        "From: Ann <ann@example.org>\r\nSubject: Spam complaint\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"{text}\r\n--b--\r\n"
    ).encode()


def test_the_first_text_part_is_the_complainants_words():
    raw = _report("I never signed up for this.\r\nThree times this week!")
    assert (
        complainant_words(raw) == "I never signed up for this.\nThree times this week!"
    )


def test_unreadable_headers_after_the_marker_are_left_out():
    raw = _report(
        "Stop this please.\r\n\r\n-- The headers below were given with the report"
        " but could not be read (x). --\r\n\r\nGarbage"
    )
    assert complainant_words(raw) == "Stop this please."


def test_a_message_without_text_has_no_words():
    assert (
        complainant_words(b"Subject: x\r\nContent-Type: image/png\r\n\r\n\x89PNG") == ""
    )
