"""What postcat prints about a held message."""

from outbound.queuefile import parse_queue_headers

POSTCAT = b"""\
*** ENVELOPE RECORDS deferred/4QAAAA1bcD ***
message_size:             332             180               1               0             332               0
sender: bob@isp.example
recipient: a@example.org
recipient: b@example.net
*** MESSAGE CONTENTS deferred/4QAAAA1bcD ***
Received: by relay.test (Postfix)
To: someone@example.org
Subject: =?utf-8?q?Caf=C3=A9?= news
 continued
*** HEADER EXTRACTED deferred/4QAAAA1bcD ***
"""


def test_envelope_recipients_and_the_decoded_subject():
    headers = parse_queue_headers(POSTCAT)
    assert headers.recipients == ("a@example.org", "b@example.net")
    assert headers.subject == "Café news continued"


def test_header_recipients_when_there_is_no_envelope():
    headers = parse_queue_headers(
        b"To: A <a@example.org>, b@example.net\nCc: c@example.com\n"
    )
    assert headers.recipients == ("a@example.org", "b@example.net", "c@example.com")
