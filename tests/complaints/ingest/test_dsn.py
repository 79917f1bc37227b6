"""RFC 3464 delivery-status parsing: field groups, addresses, actions."""

from complaints.ingest import dsn, parse

DSN = b"""From: MAILER-DAEMON@mx.example.net
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

Failed.

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4QXYZ1abcD
Arrival-Date: Mon,  4 Mar 2024 09:58:12 +0100

Final-Recipient: rfc822; final@example.org
Original-Recipient: rfc822;original@example.org
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

Final-Recipient: rfc822; second@example.org
Action: Failure
Status: 5.2.2
Diagnostic-Code: smtp;552 5.2.2
    Mailbox full

--b--
"""


def _delivery() -> dsn.DeliveryStatus:
    return dsn.read_delivery_status(parse.parse_bytes(DSN))


def test_per_message_fields_are_separated_from_recipient_groups():
    delivery = _delivery()
    assert delivery.per_message["x-postfix-queue-id"] == "4QXYZ1abcD"
    assert len(delivery.per_recipient) == 2


def test_cause_7_final_recipient_is_the_address_and_original_recipient_is_kept():
    first = _delivery().per_recipient[0]
    assert dsn.recipient_address(first) != "original@example.org"
    assert dsn.original_address(first) == "original@example.org"
    recipient = dsn.build_recipient(first)
    assert recipient.original_address == "original@example.org"
    assert recipient.sent_to == "original@example.org"


def test_folded_diagnostic_code_is_unfolded_and_typed_prefix_dropped():
    second = dsn.build_recipient(_delivery().per_recipient[1])
    assert second.diagnostic == "552 5.2.2 Mailbox full"
    assert second.reply_code == 552
    assert (second.status, second.reason, second.is_hard) == (
        "5.2.2",
        "mailbox_full",
        False,
    )


def test_nonstandard_action_words_are_normalised():
    assert dsn.normalize_action("Failure") == "failed"
    assert dsn.normalize_action("failed (bad destination mailbox address)") == "failed"
    assert dsn.normalize_action("error") == "failed"
    assert dsn.normalize_action("Delayed") == "delayed"
    assert dsn.normalize_action("relayed") == "relayed"
    assert dsn.normalize_action("") is None


def test_x400_final_recipient_is_not_an_address():
    fields = {"final-recipient": "x400; /S=user/O=example/C=GB/"}
    assert dsn.recipient_address(fields) is None


def test_malformed_address_is_kept_for_the_record():
    fields = {"final-recipient": "rfc822; bad..dots@example.org"}
    assert dsn.recipient_address(fields) == "bad..dots@example.org"


def test_message_without_dsn_part_has_no_delivery_status():
    msg = parse.parse_bytes(b"Subject: hello\n\nbody\n")
    assert dsn.read_delivery_status(msg) is None


def test_dsn_fields_in_plain_text_are_recognised():
    text = "Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n"
    assert dsn.looks_like_dsn_text(text)
    delivery = dsn.read_text_delivery_status(text)
    assert dsn.recipient_address(delivery.per_recipient[0]) == "a@example.org"


def test_delivered_actions_are_recognised():
    recipient = dsn.build_recipient(
        {"final-recipient": "rfc822; ok@example.org", "action": "relayed"}
    )
    assert dsn.is_delivered(recipient)


def test_dsn_text_is_recognised_where_a_multiline_search_finds_its_fields(
    probe_texts,
):
    def former(text: str) -> bool:
        return bool(
            dsn._RECIPIENT_FIELD.search(text) and dsn._ACTION_FIELD.search(text)
        )

    alphabet = "\n \t:Final-Recipient ORIGINAL-recipient Action: x"
    texts = [*probe_texts(alphabet), "Action: failed\nfinal-recipient: a@b"]
    assert any(former(text) for text in texts)
    for text in texts:
        assert dsn.looks_like_dsn_text(text) == former(text), repr(text)
