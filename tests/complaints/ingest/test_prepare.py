"""Raw bytes are trimmed without changing what is read."""

import email
from email.policy import compat32

import pytest

from complaints.ingest import classify, parse
from complaints.ingest.prepare import (
    PART_BYTES,
    shorten_long_parts,
    trim_attached_bodies,
)

from .conftest import EMAILS, FLUFL

DSN = b"""From: MAILER-DAEMON@mx.example.net
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="Xy.1/z"

--Xy.1/z
Content-Type: text/plain

<gone@example.org>: host said: 550 5.1.1 User unknown

--Xy.1/z
Content-Type: message/rfc822

Subject: Our offers
Message-ID: <offer-1@example.com>
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain

NEWSLETTER BODY LINE
--inner--

--Xy.1/z--
"""


def test_attached_message_body_is_dropped_but_its_headers_are_kept():
    trimmed = trim_attached_bodies(DSN)
    assert b"NEWSLETTER BODY LINE" not in trimmed
    assert b"Message-ID: <offer-1@example.com>" in trimmed
    assert trimmed.endswith(b"--Xy.1/z--\n")


def test_attached_report_keeps_its_body():
    wrapped = (
        b"Content-Type: multipart/mixed; boundary=outer\n\n--outer\n"
        b"Content-Type: message/rfc822\n\n"
        + DSN.replace(b"MIME-Version: 1.0\n", b"")
        + b"\n--outer--\n"
    )
    assert b"gone@example.org" in trim_attached_bodies(wrapped)


def test_encoded_attached_message_is_left_alone():
    raw = DSN.replace(
        b"Content-Type: message/rfc822\n",
        b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n",
    )
    assert trim_attached_bodies(raw) == raw


def test_parsed_parts_and_attached_headers_are_the_same_after_preparation():
    prepared = parse.parse_bytes(DSN)
    plain = email.message_from_bytes(DSN, policy=compat32)
    assert [p.get_content_type() for p in prepared.get_payload()] == [
        p.get_content_type() for p in plain.get_payload()
    ]
    assert parse.part_text(prepared.get_payload(0)) == parse.part_text(
        plain.get_payload(0)
    )
    inner = prepared.get_payload(1).get_payload(0)
    original = plain.get_payload(1).get_payload(0)
    assert inner.items()[:2] == original.items()[:2]
    assert inner.get_content_type() == original.get_content_type()


SAMPLES = sorted(EMAILS.glob("*.eml")) + sorted(FLUFL.glob("*.txt"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_classification_does_not_depend_on_preparation(path, monkeypatch):
    raw = path.read_bytes()
    prepared = classify(raw)
    monkeypatch.setattr(
        parse, "prepare_lowered", lambda data: (data, data.lower(), False)
    )
    assert classify(raw) == prepared


BASE64_LINE = (
    b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\n"
)
WITH_PDF = b"""From: MAILER-DAEMON@mx.example.net
Subject: Delivery failure
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain

<gone@example.org>: 550 5.1.1 User unknown

--outer
Content-Type: application/pdf; name="brochure.pdf"
Content-Transfer-Encoding: base64

%s
--outer
Content-Type: text/plain

TRAILING PART
--outer--
"""


def test_media_body_is_dropped_but_its_headers_and_later_parts_are_kept():
    raw = WITH_PDF % (BASE64_LINE * 1000)
    shortened = shorten_long_parts(raw)
    assert BASE64_LINE not in shortened
    assert b'name="brochure.pdf"' in shortened
    assert b"TRAILING PART" in shortened
    assert shortened.count(b"\n--outer") == raw.count(b"\n--outer")


def test_overlong_text_is_cut_after_a_whole_line_within_the_limit():
    raw = b"Subject: x\n\n" + b"a line of notice text\n" * 30000
    shortened = shorten_long_parts(raw)
    assert len(shortened) <= PART_BYTES
    assert shortened.endswith(b"a line of notice text\n")


def test_small_message_is_left_as_it_was():
    raw = WITH_PDF % BASE64_LINE
    assert shorten_long_parts(raw) is raw


def test_shortened_message_has_the_same_parts():
    raw = WITH_PDF % (BASE64_LINE * 80000)
    plain = email.message_from_bytes(raw, policy=compat32)
    shortened = email.message_from_bytes(shorten_long_parts(raw), policy=compat32)
    assert [p.get_content_type() for p in shortened.walk()] == [
        p.get_content_type() for p in plain.walk()
    ]
    assert parse.part_text(shortened.get_payload(2)) == "TRAILING PART"
