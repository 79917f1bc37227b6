"""Every fixture email is classified as tests/fixtures/emails/expected.json says.

Each entry gives the kind, the feedback type, the failed recipients with their
RFC 3463 status and hard flag, and optionally the complaint source and some
fields of the reported message.
"""

import gc

import pytest

from complaints.ingest import ComplaintSource, Kind, Report, classify, parse

from .conftest import EMAILS, load_expected

EXPECTED = load_expected(EMAILS)


def _classify(name: str) -> Report:
    return classify((EMAILS / name).read_bytes())


def test_there_are_at_least_seventy_fixtures():
    assert len(EXPECTED) >= 70
    on_disk = {p.name for p in EMAILS.glob("*.eml")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_has_the_expected_kind_and_feedback_type(name):
    report = _classify(name)
    assert report.error is None
    assert report.kind == Kind(EXPECTED[name]["kind"])
    assert report.feedback_type == EXPECTED[name]["feedback_type"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_has_the_expected_recipients_statuses_and_hardness(name):
    got = {r.address: _expected_shape(r) for r in _classify(name).recipients}
    assert got == EXPECTED[name]["recipients"]


def _expected_shape(recipient) -> dict:
    """A recipient as expected.json states it (the original only when given)."""
    shape = {"status": recipient.status, "hard": recipient.is_hard}
    if recipient.original_address:
        shape["original"] = recipient.original_address
    return shape


WITH_SOURCE = sorted(n for n, e in EXPECTED.items() if "complaint_source" in e)


@pytest.mark.parametrize("name", WITH_SOURCE)
def test_complaint_fixture_has_the_expected_source(name):
    expected = ComplaintSource(EXPECTED[name]["complaint_source"])
    assert _classify(name).complaint_source == expected


WITH_ORIGINAL = sorted(n for n, e in EXPECTED.items() if "original" in e)


@pytest.mark.parametrize("name", WITH_ORIGINAL)
def test_fixture_reports_the_expected_original_message_fields(name):
    report = _classify(name)
    wanted = EXPECTED[name]["original"]
    if wanted is None:
        assert report.original is None
        return
    assert report.original is not None
    got = {**report.original.to_json_dict(), "trace": report.original.trace}
    assert {key: got[key] for key in wanted} == wanted


def test_reporter_is_the_lowercased_outer_sender(email_bytes):
    report = classify(email_bytes("arf_yahoo_abuse.eml"))
    assert report.reporter == "feedback@arf.mail.yahoo.example.com"
    assert report.user_agent == "Yahoo!-Mail-Feedback/2.0"


def test_trace_header_name_is_chosen_by_the_caller(email_bytes):
    raw = email_bytes("forwarded_spam_attachment.eml")
    assert classify(raw).original.trace == "c1042-m88231"
    other = raw.replace(
        b"X-Abuse-Trace: c1042-m88231",
        b"X-Other-Trace: o-1\nX-Abuse-Trace: c1042-m88231",
    )
    assert classify(other, trace_header="X-Other-Trace").original.trace == "o-1"


def test_a_header_named_like_a_trace_stands_in_when_the_configured_one_is_absent(
    email_bytes,
):
    raw = email_bytes("forwarded_spam_attachment.eml")
    assert classify(raw, trace_header="X-Other-Trace").original.trace == "c1042-m88231"


def test_bounce_original_carries_dsn_queue_id_and_arrival_date(email_bytes):
    original = classify(email_bytes("dsn_postfix_user_unknown.eml")).original
    assert original.queue_ids[0] == "4QXYZ1abcD"
    assert original.arrival_date == "Mon,  4 Mar 2024 09:58:12 +0100 (CET)"
    assert original.mail_from == "offers@example.com"


def test_exim_bounce_is_flagged_as_auto_submitted(email_bytes):
    report = classify(email_bytes("exim_nonstandard_user_unknown.eml"))
    assert report.kind == Kind.BOUNCE
    assert report.is_auto_submitted


def test_human_complaint_is_not_auto_submitted(email_bytes):
    assert not classify(email_bytes("human_angry_text.eml")).is_auto_submitted


def test_auto_reply_mentioning_spam_is_never_a_complaint(email_bytes):
    assert classify(email_bytes("autoreply_x_autoreply.eml")).kind == Kind.AUTO_REPLY


def test_classify_records_an_error_instead_of_raising(monkeypatch):
    def explode(raw):
        raise RuntimeError("boom")

    monkeypatch.setattr(parse, "parse_bytes", explode)
    report = classify(b"Subject: x\n\nbody\n")
    assert report.kind == Kind.OTHER
    assert report.error == "RuntimeError: boom"


def test_to_json_dict_has_the_parse_report_shape(email_bytes):
    data = classify(email_bytes("dsn_postfix_mailbox_full.eml")).to_json_dict()
    assert set(data) == {
        "kind",
        "feedback_type",
        "label",
        "recipients",
        "original",
        "error",
    }
    assert set(data["recipients"][0]) == {
        "address",
        "original_address",
        "action",
        "status",
        "reply_code",
        "reason",
        "hard",
        "diagnostic",
    }
    assert data["recipients"][0]["reply_code"] == 552
    assert isinstance(data["original"]["rcpt_to"], list)


# A 5 MB attachment in the returned original, built here rather than stored.
HUGE_BLOB = (
    b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\n"
)
HUGE_FIXTURES = [
    "qmail2_inline_original_with_attachment.eml",
    "dsn_generic_status_reconciled.eml",
]


def _inflated(raw: bytes) -> bytes:
    """``raw`` with a several-megabyte PDF in the returned original."""
    pdf = (
        b'--att\nContent-Type: application/pdf; name="brochure.pdf"\n'
        b"Content-Transfer-Encoding: base64\n\n" + HUGE_BLOB * 75000 + b"--att--\n"
    )
    if b"--att--\n" in raw:  # a multipart original: add a second attachment
        return raw.replace(b"--att--\n", pdf)
    return raw.replace(b"Our spring offers are here.\n", b"Our spring offers.\n" + pdf)


@pytest.mark.parametrize("name", HUGE_FIXTURES)
def test_huge_returned_original_is_read_correctly(name):
    """Speed is measured by bench_parse, never by a timed test; this pins the
    result on a message several megabytes long."""
    raw = _inflated((EMAILS / name).read_bytes())
    assert len(raw) > 5_000_000
    report = classify(raw)
    got = {
        r.address: {"status": r.status, "hard": r.is_hard} for r in report.recipients
    }
    assert got == EXPECTED[name]["recipients"]


# Issue 12: one test per numbered cause, on the fixture named after it.
def test_cause_7_final_and_original_recipient_are_both_reported(email_bytes):
    (recipient,) = classify(
        email_bytes("cause07_final_and_original_recipient.eml")
    ).recipients
    assert (recipient.address, recipient.original_address) == (
        "j.doe@mail.example.org",
        "john@example.org",
    )
    assert recipient.to_json_dict()["original_address"] == "john@example.org"


@pytest.mark.parametrize(
    ("name", "addresses"),
    [
        (
            "cause08_dsn_groups_without_blank_lines.eml",
            {"one@example.org", "two@example.org"},
        ),
        ("cause08_exim_generated_from_parent.eml", {"real.person@example.net"}),
        ("cause08_malformed_pair_name_and_address.eml", {"member@mail.example.org"}),
        (
            "cause08_encoded_word_local_part.eml",
            {"=?utf-8?B?w6lsw6hWZQ==?=@example.org"},
        ),
        ("cause08_helpdesk_address_in_explanation.eml", {"member@example.org"}),
    ],
)
def test_cause_8_recipients_are_exactly_the_failed_addresses(
    email_bytes, name, addresses
):
    assert {r.address for r in classify(email_bytes(name)).recipients} == addresses


def test_cause_8_exims_generated_from_parent_is_the_original_address(email_bytes):
    (recipient,) = classify(
        email_bytes("cause08_exim_generated_from_parent.eml")
    ).recipients
    assert recipient.original_address == "sales@example.org"


def test_cause_9_an_auto_replys_recipient_is_the_replying_address(email_bytes):
    report = classify(email_bytes("autoreply_ooo.eml"))
    assert report.kind == Kind.AUTO_REPLY
    assert [(r.address, r.action, r.is_hard) for r in report.recipients] == [
        ("colleague@example.org", "delivered", False)
    ]


def test_cause_10_ses_notifications_are_read_and_the_footer_is_no_complaint(
    email_bytes,
):
    bounce = classify(email_bytes("cause10_ses_sns_bounce_json.eml"))
    assert (bounce.kind, bounce.recipients[0].diagnostic) == (
        Kind.BOUNCE,
        "550 5.1.1 user unknown",
    )
    complaint = classify(email_bytes("cause10_ses_complaint_json.eml"))
    assert complaint.kind == Kind.COMPLAINT
    assert complaint.original.rcpt_to == ("member@example.org",)
    assert classify(email_bytes("cause10_ses_delivery_json.eml")).kind == Kind.DELIVERED


def test_cause_11_x_arf_spam_is_a_complaint_and_other_categories_are_labelled(
    email_bytes,
):
    spam = classify(email_bytes("cause11_xarf_v02_spam.eml"))
    assert (spam.kind, spam.original.source_ip) == (Kind.COMPLAINT, "203.0.113.25")
    assert spam.reporter == "reports@honeynet.example"
    login = classify(email_bytes("cause11_xarf_v02_login_attack.eml"))
    assert (login.kind, login.label) == (Kind.OTHER, "x-arf login-attack")
    v4 = classify(email_bytes("cause11_xarf_v4_json_spam.eml"))
    assert v4.kind == Kind.COMPLAINT
    assert v4.original.message_id == "<20240304085810.4QABC2defG@smtp.example.com>"


@pytest.mark.parametrize(
    "name",
    [
        "cause12_mailman_moderation_notice.eml",
        "cause12_post_master_reply_style_notice.eml",
        "cause12_postfix_smtpd_errors_transcript.eml",
        "cause12_german_notice_with_original_attached.eml",
    ],
)
def test_cause_12_notices_with_an_attached_original_are_not_complaints(
    email_bytes, name
):
    report = classify(email_bytes(name))
    assert report.kind == Kind.OTHER
    assert report.recipients == ()


def test_cause_12_a_person_forwarding_spam_in_german_is_a_complaint(email_bytes):
    report = classify(email_bytes("cause12_person_forwards_spam_in_german.eml"))
    assert report.kind == Kind.COMPLAINT


def test_cause_13_apples_one_click_unsubscribe_is_an_opt_out_report(email_bytes):
    report = classify(email_bytes("cause13_apple_mail_one_click_unsubscribe.eml"))
    assert (report.kind, report.feedback_type) == (Kind.OTHER, "opt-out")


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("cause14_copyright_infringement_notice.eml", "copyright"),
        ("cause14_honeypot_network_report.eml", "honeypot"),
        ("cause14_phishing_site_report.eml", "phishing_site"),
    ],
)
def test_cause_14_other_automated_abuse_notices_are_other_with_a_label(
    email_bytes, name, label
):
    report = classify(email_bytes(name))
    assert (report.kind, report.label) == (Kind.OTHER, label)


def test_classifying_leaves_no_reference_cycles():
    # A parsed tree that refers to itself is freed only by the garbage
    # collector, whose collections then cost a large share of the parsing.
    paths = sorted(EMAILS.glob("*.eml"))
    gc.collect()
    gc.disable()
    try:
        for path in paths:
            classify(path.read_bytes())
        left = gc.collect()
    finally:
        gc.enable()
    assert paths
    assert left == 0
