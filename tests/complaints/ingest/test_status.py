"""RFC 3463 status inference, reason classes and the hard flag."""

import re

import pytest

from complaints.ingest import status

from .conftest import same_matches

ASSESS_CASES = [
    # (diagnostic, Status field, action, status, reason, hard)
    (
        "550 5.1.1 <a@example.org>: User unknown",
        "5.1.1",
        "failed",
        "5.1.1",
        "user_unknown",
        True,
    ),
    ("550 No such user", None, "failed", "5.1.1", "user_unknown", True),
    ("550 No such user here", "5.0.0", "failed", "5.1.1", "user_unknown", True),
    ("552 Mailbox full", None, "failed", "5.2.2", "mailbox_full", False),
    ("452 4.2.2 Mailbox full", None, "delayed", "4.2.2", "mailbox_full", False),
    (
        "Host or domain name not found. Name service error",
        None,
        "failed",
        "5.4.4",
        "bad_domain",
        True,
    ),
    (
        "550 5.1.2 Host unknown (Domain name not found)",
        None,
        None,
        "5.1.2",
        "bad_domain",
        True,
    ),
    (
        "Domain nullmx.example does not accept mail (nullMX)",
        "5.1.10",
        "failed",
        "5.1.10",
        "bad_domain",
        True,
    ),
    (
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found",
        "5.1.10",
        "failed",
        "5.1.10",
        "user_unknown",
        True,
    ),
    (
        "553 5.1.3 Bad recipient address syntax",
        None,
        "failed",
        "5.1.3",
        "bad_syntax",
        True,
    ),
    (
        "550 5.2.1 The email account that you tried to reach is disabled.",
        None,
        "failed",
        "5.2.1",
        "suspended",
        False,
    ),
    (
        "552 5.3.4 Message size exceeds fixed maximum message size",
        None,
        "failed",
        "5.3.4",
        "message_too_large",
        False,
    ),
    (
        "554 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org",
        None,
        "failed",
        "5.7.1",
        "reputation",
        False,
    ),
    (
        "550 5.7.26 Unauthenticated email is not accepted due to domain's DMARC policy",
        None,
        "failed",
        "5.7.26",
        "reputation",
        False,
    ),
    (
        "550 5.7.1 Message rejected as spam",
        None,
        "failed",
        "5.7.1",
        "content_rejected",
        False,
    ),
    (
        "554 5.7.1 <a@example.org>: Relay access denied",
        None,
        "failed",
        "5.7.1",
        "policy",
        False,
    ),
    (
        "421 4.7.28 unusual rate of unsolicited mail",
        None,
        "delayed",
        "4.7.28",
        "rate_limited",
        False,
    ),
    (
        "connect to mx.example.org[198.51.100.1]:25: Connection timed out",
        "4.4.1",
        "delayed",
        "4.4.1",
        "network",
        False,
    ),
    (
        "450 4.2.0 Greylisted, please try again",
        None,
        "delayed",
        "4.2.0",
        "temporary",
        False,
    ),
    ("retry timeout exceeded", None, "failed", "5.4.7", "temporary", False),
    (
        "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
        "5.4.1",
        "failed",
        "5.4.1",
        "user_unknown",
        True,
    ),
    ("Unrouteable address", "5.0.0", "failed", "5.4.4", "bad_domain", True),
    ("250 2.0.0 Ok: queued", "2.0.0", "delivered", "2.0.0", "other", False),
    (None, None, "failed", "5.0.0", "other", False),
    (
        "450 4.1.1 <a@example.org>: Recipient address rejected: User unknown",
        None,
        "delayed",
        "4.1.1",
        "temporary",
        False,
    ),
    (
        "retry time not reached for any host for 'example.org' after a long"
        " failure period",
        None,
        "failed",
        "5.4.7",
        "temporary",
        False,
    ),
    # AOL's per-user block: the mailbox exists, the sender is refused.
    (
        "not accepting mail from offers@example.com",
        None,
        "failed",
        "5.7.1",
        "policy",
        False,
    ),
    (
        "Account is not accepting mail",
        None,
        "failed",
        "5.2.1",
        "mailbox_disabled",
        False,
    ),
]


@pytest.mark.parametrize(
    ("diagnostic", "given", "action", "expected", "reason", "hard"), ASSESS_CASES
)
def test_assess_infers_status_reason_and_hardness(
    diagnostic, given, action, expected, reason, hard
):
    verdict = status.assess(diagnostic=diagnostic, status=given, action=action)
    assert (verdict.status, verdict.reason, verdict.is_hard) == (expected, reason, hard)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("550 5.1.1 User unknown", "5.1.1"),
        ("Sorry, no mailbox here by that name. (#5.1.1)", "5.1.1"),
        ("550-5.7.26 Unauthenticated", "5.7.26"),
        ("Mailman 2.0.12 released", None),
        ("host 5.1.1.2 said hello", None),
        ("Sendmail 8.12.11 here", None),
        ("", None),
    ],
)
def test_find_status_reads_enhanced_codes_but_not_versions_or_ips(text, expected):
    assert status.find_status(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("550 5.1.1 User unknown", 550),
        ("host mx[203.0.113.5] said: 554 Service unavailable", 554),
        ("<<< 452-4.2.2 over quota", 452),
        ("Remote host said: 550-5.7.1 spam", 550),
        ("no code here", None),
    ],
)
def test_find_reply_code_reads_the_smtp_reply_not_an_ip_octet(text, expected):
    assert status.find_reply_code(text) == expected


def test_a_delayed_user_unknown_is_not_hard():
    verdict = status.assess(diagnostic="550 5.1.1 User unknown", action="delayed")
    assert verdict.status == "5.1.1"
    assert not verdict.is_hard


def test_normalize_status_rejects_garbage():
    assert status.normalize_status("5.1.1 (user unknown)") == "5.1.1"
    assert status.normalize_status("unknown") is None


# Issue 12, causes 1-5: the hard flag a suspension can rest on.
@pytest.mark.parametrize(
    ("diagnostic", "given", "reason"),
    [
        ("550 5.1.1 User unknown (in reply to end of DATA command)", "5.1.1", None),
        ("SMTP error after end of data: 550 No such user", None, None),
        ("550 Invalid recipient (Mimecast gateway)", "5.0.0", None),
        ("550 5.7.1 Recipient unknown", None, None),
    ],
)
def test_cause_1_unknown_user_after_data_or_from_a_filter_is_not_hard(
    diagnostic, given, reason
):
    verdict = status.assess(diagnostic=diagnostic, status=given, action="failed")
    assert (verdict.reason, verdict.is_hard) == ("filtered", False)


@pytest.mark.parametrize(
    "diagnostic",
    [
        "550 5.2.1 account is disabled",
        "550 5.2.1 The email account that you tried to reach is disabled.",
        "550 mailbox suspended",
    ],
)
def test_cause_2_disabled_or_suspended_mailboxes_are_not_hard(diagnostic):
    verdict = status.assess(diagnostic=diagnostic, status="5.1.1", action="failed")
    assert not verdict.is_hard


@pytest.mark.parametrize(
    ("diagnostic", "given", "reason"),
    [
        ("550 5.1.1 <a@example.org>: user is over quota", "5.1.1", "mailbox_full"),
        ("550 5.1.1 listed on our blacklist", "5.1.1", "reputation"),
        ("550 5.1.1 too many recipients this hour", "5.1.1", "rate_limited"),
        (
            "550 5.0.0 <a@example.org>... host mx.example.org said: 452 4.2.2 full",
            "5.1.1",
            "mailbox_full",
        ),
    ],
)
def test_cause_3_the_remote_servers_text_beats_the_status_field(
    diagnostic, given, reason
):
    verdict = status.assess(diagnostic=diagnostic, status=given, action="failed")
    assert (verdict.reason, verdict.is_hard) == (reason, False)


@pytest.mark.parametrize(
    "diagnostic",
    [
        "550 5.1.1 No such user (in reply to MAIL FROM command)",
        "504 5.5.2 <localhost>: Helo command rejected: Host not found",
        "Host or domain name not found. Name service error for name=example.org"
        " type=MX: Host not found, try again",
        "500 5.5.1 Command unrecognized",
    ],
)
def test_cause_4_sender_side_and_network_failures_are_not_a_bad_recipient(
    diagnostic,
):
    verdict = status.assess(diagnostic=diagnostic, action="failed")
    assert verdict.reason in ("sender_rejected", "network")
    assert not verdict.is_hard


@pytest.mark.parametrize(
    ("diagnostic", "given"),
    [
        ("Invalid final delivery userid: a@example.org", None),
        ("550 5.1.1 Recipient address rejected", None),
        ("550 Address rejected", None),
        ("Please check if the address is correct.", "5.0.0"),
        (
            "The address couldn't be found. Check for typos and try again.",
            None,
        ),
        ("556 5.1.10 Recipient address has null MX", None),
        ("550 5.7.27 Domain does not accept mail", None),
        ("554 No SMTP service here", None),
        ("450 4.1.1 <a@example.org>: user does not exist", "4.1.1"),
    ],
)
def test_cause_5_unknown_users_in_other_words_and_dead_domains_are_hard(
    diagnostic, given
):
    verdict = status.assess(diagnostic=diagnostic, status=given, action="failed")
    assert verdict.reason in ("user_unknown", "bad_domain")
    assert verdict.is_hard
    assert verdict.status[0] in "45"


def test_cause_5_an_unverified_address_on_a_4xx_is_not_hard():
    verdict = status.assess(
        diagnostic="450 4.1.1 <a@example.org>: Recipient address rejected:"
        " unverified address: host not found",
        action="failed",
    )
    assert not verdict.is_hard


# The patterns as written before they were made to open with a digit or a
# look-ahead: the rewrites must find exactly what these find.
_FORMER = {
    "STATUS_RE": (
        re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)"),
        0,
    ),
    # Its matches began at the character before the code.
    "REPLY_CODE_RE": (
        re.compile(r"(?:^|[\s(;:#\"'=])([245][0-5]\d)(?=[\s\-,:)\]]|$)"),
        1,
    ),
    "_REMOTE_RE": (
        re.compile(
            r"\b(said|replied|responded|answered|returned)( with)?\s*:|remote (server"
            r"|host|mta)( returned| replied| said)?\s*[:'\"]|\bthe (response|error)"
            r"( from the remote server| that the other server returned| was)?( was)?"
            r"\s*:|<<<\s",
            re.I,
        ),
        0,
    ),
}


@pytest.mark.parametrize("name", sorted(_FORMER))
def test_each_rewritten_pattern_finds_what_its_former_form_found(name, probe_texts):
    old, group = _FORMER[name]
    new = getattr(status, name)
    alphabet = "24555.0139 (;:#\"'=-,)]\n\t<<<saidremote: hostTHE response was ſK"
    for text in probe_texts(alphabet):
        assert same_matches(old, new, text, group=group), repr(text)


def test_the_ascii_remote_pattern_finds_what_the_case_insensitive_one_finds(
    probe_texts,
):
    texts = probe_texts("saidreplo ntwhemcu:'\"<\t_1SAIDREMOTEThE", count=30000)
    texts += [
        "host mx said: 550 5.1.1 user unknown",
        "Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound'",
        "The response from the remote server was: 552 full",
        "<<< 550 no such user; resaid: x; the error that the other server returned:",
    ]
    for text in (t for t in texts if t.isascii()):
        matches = status._REMOTE_RE.finditer(text)
        spans = [m.span() for m in status._REMOTE_ASCII_RE.finditer(text.lower())]
        assert spans == [m.span() for m in matches], text
