"""Bytes to message: line endings, charsets, headers, addresses and limits."""

from email.utils import collapse_rfc2231_value

import pytest

from complaints.ingest import parse


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_any_line_ending_parses_the_same(newline):
    raw = b"Subject: hello\nFrom: a@example.org\n\nbody line\n".replace(b"\n", newline)
    msg = parse.parse_bytes(raw)
    assert parse.header(msg, "Subject") == "hello"
    assert parse.part_text(msg) == "body line\n"


def test_mbox_from_line_is_skipped():
    msg = parse.parse_bytes(b"From someone Mon Apr  2 10:02:42 2001\nSubject: x\n\nb\n")
    assert parse.header(msg, "Subject") == "x"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?utf-8?q?caf=C3=A9?=", "café"),
        ("=?utf-8?b?SGVsbG8=?= =?utf-8?b?IFdvcmxk?=", "Hello World"),
        ("=?iso-8859-1?Q?Abwesenheitsnotiz:_x?=", "Abwesenheitsnotiz: x"),
        ("=?x-unknown-charset?q?abc?=", "abc"),
        ("=?utf-8?b?!!!notbase64?=", "=?utf-8?b?!!!notbase64?="),
        ("folded\n value", "folded value"),
    ],
)
def test_rfc2047_header_values_are_decoded_leniently(value, expected):
    assert parse.decode_header_value(value) == expected


def test_iso_2022_jp_subject_is_decoded():
    encoded = "=?iso-2022-jp?b?GyRCTEJPRyVhITwlaxsoQg==?="
    assert parse.decode_header_value(encoded) == "\u8ff7\u60d1\u30e1\u30fc\u30eb"


def test_raw_8bit_headers_are_decoded_as_utf8_or_latin1():
    msg = parse.parse_bytes(
        "Subject: Bücher\nFrom: \xe9t\xe9 <a@b.example>\n\nx".encode("latin-1")
    )
    assert parse.header(msg, "Subject") == "Bücher"
    msg = parse.parse_bytes("Subject: Bücher\n\nx".encode())
    assert parse.header(msg, "Subject") == "Bücher"


def test_unknown_body_charset_falls_back_instead_of_failing():
    raw = b'Content-Type: text/plain; charset="x-bogus"\n\ncaf\xe9\n'
    assert parse.part_text(parse.parse_bytes(raw)) == "café\n"


def test_huge_input_is_capped_before_parsing():
    raw = b"Subject: big\n\n" + b"x" * (parse.MAX_PARSE_BYTES * 2)
    msg = parse.parse_bytes(raw)
    assert len(msg.get_payload()) < parse.MAX_PARSE_BYTES


def test_notification_text_skips_the_attached_original(email_bytes):
    msg = parse.parse_bytes(email_bytes("forwarded_spam_attachment.eml"))
    text = parse.notification_text(msg)
    assert "never signed up" in text
    assert "spring offers are here" not in text


def test_html_only_notice_is_turned_into_text():
    raw = b"Content-Type: text/html\n\n<p>Undeliverable to <b>a@example.org</b></p>"
    assert "a@example.org" in parse.notification_text(parse.parse_bytes(raw))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Some One <Some.One@Example.ORG>", "some.one@example.org"),
        ("<a@example.org>.", "a@example.org"),
        ("rfc822;a@example.org", "a@example.org"),
        ("not an address", None),
        (None, None),
    ],
)
def test_clean_address_extracts_the_bare_lowercased_address(value, expected):
    assert parse.clean_address(value) == expected


def test_anonymised_one_letter_domains_are_addresses():
    # Shipped samples anonymise to "a@b.c"; no real address is lost by it.
    assert parse.addresses_in("To a@b.c and fred@mail.a.b.c.") == [
        "a@b.c",
        "fred@mail.a.b.c",
    ]


def test_addresses_in_text_are_deduplicated_in_order():
    text = "to <b@example.org>, a@example.org and B@example.org"
    assert parse.addresses_in(text) == ["b@example.org", "a@example.org"]


@pytest.mark.parametrize(
    ("raw", "head"),
    [
        (
            b"Subject: a\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n\r\nmore",
            b"Subject: a\r\nMessage-ID: <1@x>",
        ),
        (b"Subject: a\nX: b\n\nbody", b"Subject: a\nX: b"),
        (b"Subject: no body at all", b"Subject: no body at all"),
    ],
)
def test_header_block_ends_at_the_first_empty_line_of_either_ending(raw, head):
    from complaints.ingest.parse import header_block

    assert header_block(raw) == head


def test_header_block_ignores_headers_of_an_attached_message():
    from complaints.ingest.parse import header_block

    raw = b"Subject: outer\r\n\r\n--b\r\nMessage-ID: <inner@x>\r\n"
    assert b"inner" not in header_block(raw)


CONTENT_TYPES = [
    "text/plain; charset=UTF-8",
    "text/plain;charset=utf-8 ; format=flowed",
    "text/plain; CHARSET = iso-8859-1",
    "text/plain; charset",
    "charset=utf-8",
    "text/plain; charset=utf-8; charset=latin1",
    "text/plain;; =x; charset=y",
    'text/plain; charset="windows-1252"',
    "text/plain; charset*=utf-8''latin%2D1",
    "multipart/report; report-type=Feedback-Report;\n\tboundary=x",
    'multipart/report; boundary="a;b"; report-type=delivery-status',
    'multipart/mixed; boundary="=_x y "; charset="UTF-8"',
    'multipart/mixed; boundary="a"b"',
    'multipart/mixed; boundary=""',
    'multipart/mixed; "q"=x; boundary=y',
    "text/plain; charset=\udce9",
]


@pytest.mark.parametrize("value", CONTENT_TYPES)
def test_content_parameters_are_read_as_the_stdlib_reads_them(value):
    part = parse.parse_header_block(f"Content-Type: {value}\n")
    for name in ("charset", "report-type", "boundary", "format"):
        expected = part.get_param(name)
        if isinstance(expected, tuple):  # RFC 2231: the decoded text
            expected = collapse_rfc2231_value(expected)
        assert parse.content_param(part, name) == expected
    assert parse.content_charset(part) == part.get_content_charset()


@pytest.mark.parametrize(
    ("fields", "saved"),
    [
        ('Content-Disposition: attachment; filename="Spam.EML"\n', True),
        ("Content-Type: application/octet-stream; name=spam.eml\n", True),
        ("Content-Disposition: attachment; filename*=utf-8''spam%2Eeml\n", True),
        ('Content-Disposition: attachment; filename="emls.txt"\n', False),
        ("Content-Type: text/plain\n", False),
    ],
)
def test_saved_message_is_told_by_its_file_name(fields, saved):
    part = parse.parse_header_block(fields)
    assert list(parse.attached_messages(part)) == ([part] if saved else [])


def test_the_lowered_wire_text_is_the_wire_text_lowered():
    # 8-bit bytes become surrogate escapes, which lowercasing leaves alone,
    # as lowercasing the bytes leaves the bytes alone.
    raw = "Subject: Ünïcödé ÀB\r\nX-Raw: \xc0\xff\r\n\r\nBODY Ä\r\n".encode("latin-1")
    text, lowered, _cut = parse._wire_text_lowered(raw)
    assert lowered == text.lower()
    assert text == parse.wire_text(raw)[0]


def test_lowered_names_lists_each_field_name_once_lowercased():
    msg = parse.parse_bytes(b"X-VL-Trace: a\nReceived: x\nreceived: y\n\nbody\n")
    assert parse.lowered_names(msg).split("\n") == ["x-vl-trace", "received"]
