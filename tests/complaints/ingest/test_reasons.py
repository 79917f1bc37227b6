"""Each reason's phrases name it, its vetoes keep it off, stage and status steer it.

One table per reason: texts that must name it, and texts that look alike
but must not (each with the reason they do name, or None).
"""

import re

import pytest

from complaints.ingest import reasons, reasons_local

from .conftest import same_matches

TABLES = {
    "sender_rejected": (
        [
            "553 5.1.8 <a@example.com>: Sender address rejected: Domain not found",
            "550 5.7.1 <a@example.com>: Sender address rejected: Access denied",
            "550-Verification failed for <a@example.com> 550-No such user here",
            "550 Sender verify failed",
            "550 5.1.0 <a@example.com> sender rejected: user does not exist",
            "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname",
            "SMTP error from remote mail server after MAIL FROM:<a@example.com>"
            " SIZE=1234: 550 5.1.1 No such user",
            "550 5.7.1 unknown user (in reply to MAIL FROM command)",
            "550 5.7.27 Sender address has null MX",
        ],
        [
            (
                "550 5.1.1 <b@example.org>: Recipient address rejected: User unknown"
                " (in reply to RCPT TO command)",
                "user_unknown",
            ),
            (
                "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using"
                " zen.spamhaus.org (in reply to MAIL FROM command)",
                "reputation",
            ),
        ],
    ),
    "filtered": (
        [
            "SMTP error from remote mail server after end of data: 550 5.1.1 User"
            " unknown",
            "550 5.1.1 User unknown (in reply to end of DATA command)",
            "550 Invalid recipient <a@example.org> (mimecast.com)",
            "550 5.7.1 No such user!",
            "550 5.2.0 Mailbox unavailable",
            "554 5.1.1 recipient unknown - Proofpoint Essentials",
            ">>> DATA <<< 550 5.1.1 unknown user",
        ],
        [
            ("550 5.1.1 User unknown (in reply to RCPT TO command)", "user_unknown"),
            (
                "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
                "user_unknown",
            ),
            (
                "554 5.7.1 Message rejected as spam (in reply to end of DATA command)",
                "content_rejected",
            ),
        ],
    ),
    "network": (
        [
            "Host or domain name not found. Name service error for name=example.org"
            " type=MX: Host not found, try again",
            "451 4.4.3 Temporary failure in name resolution",
            "500 5.5.1 Command unrecognized",
            "554 5.5.0 protocol error",
            "lost connection with mx.example.org[192.0.2.1] while sending RCPT TO",
            "connect to mx.example.org[192.0.2.1]:25: Connection timed out",
            "TLS handshake failed",
            "Name service error for name=example.org type=MX: Malformed name server"
            " reply",
        ],
        [
            ("retry timeout exceeded", "temporary"),
            ("550 5.1.1 No such user (connection closed)", "user_unknown"),
        ],
    ),
    "bad_syntax": (
        ["553 5.1.3 Bad recipient address syntax", "501 malformed address"],
        [("550 5.1.1 invalid address", "user_unknown")],
    ),
    "rate_limited": (
        [
            "421 4.7.28 unusual rate of unsolicited mail",
            "550 5.1.1 too many recipients this hour",
            "452 too many recipients",
            "554 daily sending quota exceeded",
        ],
        [
            ("552 5.2.2 quota exceeded", "mailbox_full"),
            (
                "550 <b@example.org> User has too many messages on the server.",
                "mailbox_full",
            ),
        ],
    ),
    "mailbox_full": (
        [
            "552 5.2.2 Mailbox full",
            "550 5.1.1 <a@example.org>: user is over quota",
            "Insufficient system storage",
            "The recipient's mailbox is full and can't accept messages now.",
            "550 Benutzer hat zuviele Mails / User has too many messages on the server",
        ],
        [("554 daily sending quota exceeded", "rate_limited")],
    ),
    "message_too_large": (
        [
            "552 5.3.4 Message size exceeds fixed maximum message size",
            "550 RCPT TO:<b@example.org> max message size exceeded",
            "534 SIZE=Message too big. (in reply to MAIL FROM command)",
        ],
        [("552 mailbox size limit exceeded", "mailbox_full")],
    ),
    "suspended": (
        [
            "550 5.2.1 The email account that you tried to reach is disabled.",
            "550 account is disabled",
            "550 5.2.1 mailbox temporarily suspended",
            "550 user account is locked",
            "550 [SUSPEND] Mailbox currently suspended - Please contact correspondent",
            "Das Konto wurde deaktiviert.",
        ],
        [
            (
                "550 5.7.1 Your account has been suspended for sending spam",
                "content_rejected",
            )
        ],
    ),
    "mailbox_disabled": (
        ["Account is not accepting mail", "550 this account has been closed"],
        [
            ("not accepting mail from offers@example.com", "policy"),
            (
                "They are not accepting mail with attachments or embedded images",
                "content_rejected",
            ),
        ],
    ),
    "bad_domain": (
        [
            "550 5.1.2 Host unknown (Domain name not found)",
            "Domain nullmx.example does not accept mail (nullMX)",
            "556 5.1.10 Recipient address has null MX",
            "Unrouteable address",
            "554 no SMTP service here",
            "Host or domain name not found. Name service error for name=x.invalid"
            " type=A: Host not found",
            "Die Domain existiert nicht.",
            "[dest.example.org]: Name or service not known",
        ],
        [("Host not found, try again", "network")],
    ),
    "user_unknown": (
        [
            "550 5.1.1 <a@example.org>: Recipient address rejected: User unknown",
            "550 No such user",
            "Invalid final delivery userid: a@example.org",
            "550 BAD_RECIPIENT - see http://mail.example.org/undelivered",
            "550 b@example.org is not an active address at this host (invalid"
            " Example 550 username)",
            "550 Recipient Rejected: No account by that name here",
            "550 5.1.1 Recipient address rejected",
            "550 Address rejected",
            "Please check if the address is correct.",
            "550 5.1.1 The email account that you tried to reach does not exist."
            " Please try double-checking the recipient's email address",
            "We couldn't deliver it because the address couldn't be found. Check"
            " for typos and try again.",
            "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
            "Почтовый ящик не существует.",
            "Der Empfänger existiert nicht.",
            "Utilisateur inconnu",
            "指定されたメールアドレスは存在しません。",
            "收件人不存在",
        ],
        [
            (
                "554 5.7.1 <a@example.org>: Recipient address rejected: Access denied",
                "policy",
            ),
            (
                "450 4.2.0 <a@example.org>: Recipient address rejected: Greylisted",
                "temporary",
            ),
        ],
    ),
    "reputation": (
        [
            "554 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org",
            "550 5.7.26 Unauthenticated email is not accepted due to DMARC policy",
        ],
        [],
    ),
    "content_rejected": (["550 5.7.1 Message rejected as spam"], []),
    "policy": (["554 5.7.1 <a@example.org>: Relay access denied"], []),
    "temporary": (
        ["450 4.2.0 Greylisted, please try again", "retry timeout exceeded"],
        [("check the address and try again: no such user", "user_unknown")],
    ),
}
NAMED = [(reason, text) for reason, (yes, _no) in TABLES.items() for text in yes]
NOT_NAMED = [
    (reason, text, other) for reason, (_yes, no) in TABLES.items() for text, other in no
]


def test_cause_6_every_reason_of_the_vocabulary_has_a_table():
    assert set(TABLES) == set(reasons.PRECEDENCE)


@pytest.mark.parametrize(("reason", "text"), NAMED)
def test_each_reasons_phrases_name_it(reason, text):
    assert reasons.match_reason(text)[0] == reason


@pytest.mark.parametrize(("reason", "text", "other"), NOT_NAMED)
def test_a_veto_or_the_stage_gives_a_lookalike_its_own_reason(reason, text, other):
    found = reasons.match_reason(text)
    assert (found[0] if found else None) == other


def test_a_product_named_in_a_scanning_banner_is_no_gateways_verdict():
    banner = "This email has been scanned for all viruses by MessageLabs."
    assert not reasons.names_filtering_gateway(banner)
    assert reasons.names_filtering_gateway("550 rejected by the MessageLabs gateway")


@pytest.mark.parametrize(
    ("line", "is_banner"),
    [
        ("This email has been scanned for all viruses by MessageLabs.", True),
        ("Virus-checked by the company gateway", True),
        ("CONFIDENTIALITY NOTICE: intended for the addressee only", True),
        ("550 5.7.1 Message rejected by the content filter", False),
        ("550 5.1.1 User unknown", False),
    ],
)
def test_scanning_banners_are_told_apart_from_replies(line, is_banner):
    assert reasons.is_scanning_banner(line) is is_banner


@pytest.mark.parametrize(
    ("text", "names_gateway"),
    [
        # The banner's sentence goes, what comes before its full stop stays.
        ("Blocked by Barracuda. This message was scanned by MessageLabs.", True),
        ("Delivery failed. This message was scanned by MessageLabs.", False),
        # Only to the end of the banner's line.
        ("Scanned by MessageLabs\n550 rejected by the spam filter", True),
        ("Scanned by MessageLabs\nScanned by Proofpoint\n550 user unknown", False),
        ("No product here at all", False),
    ],
)
def test_only_the_banners_sentence_is_set_aside(text, names_gateway):
    assert reasons.names_filtering_gateway(text) is names_gateway


def test_every_rule_names_a_documented_reason():
    named = {rule.reason for rule in reasons.RULES}
    local = {r for r, _d, _p, _s in reasons_local._LOCAL}
    assert named | local <= set(reasons.REASONS)


def test_only_address_reasons_are_hard():
    assert reasons.HARD_REASONS == {"user_unknown", "bad_domain", "bad_syntax"}


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("550 5.1.1 user unknown (in reply to RCPT TO command)", "rcpt"),
        ("SMTP error from remote mail server after end of data: 550", "data"),
        ("after pipelined MAIL FROM:<a@example.com>: 550", "mail"),
        (">>> MAIL From:<a@b.example> <<< 250 ok >>> RCPT To:<c@d.example>", "rcpt"),
        ("504 Helo command rejected", "helo"),
        ("not accepting mail from a@example.com", None),
        ("550 No such user", None),
    ],
)
def test_smtp_stage_is_the_last_command_the_text_names(text, stage):
    assert reasons.smtp_stage(text.lower()) == stage


def test_a_status_passed_in_steers_the_reason():
    assert reasons.match_reason("No such user", status="5.7.1")[0] == "filtered"
    assert reasons.match_reason("No such user", status="5.1.1")[0] == "user_unknown"


def test_english_wording_wins_over_localised():
    assert reasons.match_reason("552 Mailbox full / Benutzer unbekannt")[0] == (
        "mailbox_full"
    )


def test_ascii_localised_wording_is_read_and_plain_text_is_not():
    assert reasons.match_reason("Benutzer unbekannt") == ("user_unknown", "1.1")
    assert reasons.match_reason("nothing to see here") is None


def test_the_status_pattern_finds_what_its_look_behind_form_found(probe_texts):
    old = re.compile(r"(?<![\d.])[245]\.(\d{1,3})\.\d{1,3}(?!\.?\d)")
    for text in probe_texts("245.0139 ."):
        assert same_matches(old, reasons._STATUS_RE, text), repr(text)
