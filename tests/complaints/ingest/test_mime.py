"""``mime`` builds exactly the tree the stdlib parser builds, or declines."""

import random
from email.message import Message
from email.parser import HeaderParser, Parser
from email.policy import compat32

import pytest

from complaints.ingest import mime, parse

from .conftest import BOUNCEPARSER, EMAILS, FIXTURES, FLUFL

STDLIB = Parser(policy=compat32)
SAMPLES = (
    sorted(EMAILS.glob("*.eml"))
    + sorted((FIXTURES / "corpus" / "messages").glob("*.eml"))
    + sorted(FLUFL.glob("*.txt"))
    + sorted(BOUNCEPARSER.glob("*.msg"))
)


def shape(msg: Message) -> tuple:
    """Everything a reader can see of a parsed tree."""
    payload = msg._payload
    if isinstance(payload, list):
        payload = [shape(part) for part in payload]
    return (
        msg._headers,
        msg._unixfrom,
        msg.get_default_type(),
        msg.get_content_type(),
        msg.preamble,
        msg.epilogue,
        payload,
    )


def cached_types_agree(msg: Message) -> bool:
    """The content type ``mime`` caches is the one the stdlib method gives."""
    parts = msg._payload if isinstance(msg._payload, list) else []
    return msg._ingest_content_type == msg.get_content_type() and all(
        cached_types_agree(part) for part in parts
    )


def as_parsed(raw: bytes) -> str:
    """The text ``parse.parse_bytes`` hands to the MIME parser."""
    return parse.wire_text(raw)[0]


def assert_same_or_declined(text: str) -> bool:
    fast = mime.parse_text(text)
    if fast is None:
        return False
    assert shape(fast) == shape(STDLIB.parsestr(text))
    assert cached_types_agree(fast)
    return True


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_tree_of_every_sample_is_the_stdlib_tree(path):
    assert_same_or_declined(as_parsed(path.read_bytes()))


def test_nearly_every_sample_takes_the_fast_path():
    taken = sum(assert_same_or_declined(as_parsed(p.read_bytes())) for p in SAMPLES)
    assert taken >= 0.97 * len(SAMPLES)


MANGLED_LINES = (
    "",
    " folded",
    "From someone",
    ":no name",
    "not a header",
    "--b1",
    "--b1--",
    "--b2-- \t",
    "Content-Type: multipart/mixed; boundary=b2",
    "Content-Type: message/delivery-status",
    "Content-Type: multipart/digest; boundary=b1",
)


def mangle(text: str, rnd: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rnd.randint(1, 4)):
        at = rnd.randrange(len(lines))
        roll = rnd.random()
        if roll < 0.3:
            del lines[at]
        elif roll < 0.5:
            lines.insert(at, lines[rnd.randrange(len(lines))])
        elif roll < 0.7:
            lines[at] = lines[at][: rnd.randrange(len(lines[at]) + 1)]
        elif roll < 0.9:
            lines.insert(at, rnd.choice(MANGLED_LINES))
        else:
            lines = lines[:at]
        lines = lines or [""]
    mangled = "\n".join(lines)
    return mangled.rstrip("\n") if rnd.random() < 0.3 else mangled


def test_mangled_samples_give_the_stdlib_tree_or_are_declined():
    rnd = random.Random(12)
    texts = [as_parsed(p.read_bytes()) for p in SAMPLES[::3]]
    taken = sum(
        assert_same_or_declined(mangle(rnd.choice(texts), rnd)) for _ in range(1500)
    )
    assert taken > 1000  # the comparison really ran


NESTED = """\
From: a@example.org
Content-Type: multipart/mixed; boundary="outer"

preamble line

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

plain

--inner
Content-Type: text/html

<p>html</p>
--outer
Content-Type: message/rfc822

Subject: attached
Content-Type: multipart/digest; boundary=d

--d

Subject: digest item

--d--
digest epilogue
--outer--

epilogue
"""


def test_nested_multiparts_preambles_epilogues_and_digests():
    fast = mime.parse_text(NESTED)
    assert shape(fast) == shape(STDLIB.parsestr(NESTED))
    # The inner multipart has no closing delimiter: it ends at the outer one.
    alternative = fast.get_payload(0)
    assert alternative.epilogue is None
    assert alternative.get_payload(1).get_payload() == "<p>html</p>"
    item = fast.get_payload(1).get_payload(0).get_payload(0)
    assert item.get_default_type() == "message/rfc822"
    assert fast.preamble == "preamble line\n"
    assert fast.epilogue == "\nepilogue\n"


DSN_BLOCKS = """\
Content-Type: multipart/report; report-type=delivery-status; boundary=r

--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net


Final-Recipient: rfc822; a@example.org
Action: failed
garbage without a colon

Final-Recipient: rfc822; b@example.org
--r--
"""


def test_delivery_status_blocks_keep_empty_blocks_and_stray_lines():
    fast = mime.parse_text(DSN_BLOCKS)
    assert shape(fast) == shape(STDLIB.parsestr(DSN_BLOCKS))
    blocks = fast.get_payload(0).get_payload()
    assert len(blocks) == 4
    assert blocks[1].items() == []
    assert blocks[2].get_payload() == "garbage without a colon\n"


def test_header_block_without_separator_starts_the_body_at_the_stray_line():
    text = "Subject: x\nthis is body\nmore\n"
    fast = mime.parse_text(text)
    assert shape(fast) == shape(STDLIB.parsestr(text))
    assert fast.get_payload() == "this is body\nmore\n"


@pytest.mark.parametrize(
    "text",
    [
        "Subject: x\r\n\r\nbody\r\n",
        "From someone\nSubject: x\n\nbody\n",
        " folded first\nSubject: x\n\nbody\n",
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\nx\n--b--\n",
    ],
    ids=[
        "crlf",
        "unix-from",
        "continuation-first",
        "delimiters-in-a-row",
    ],
)
def test_input_the_stdlib_reads_its_own_way_is_declined(text):
    assert mime.parse_text(text) is None
    assert parse.parse_bytes(text.encode()) is not None  # the stdlib takes it


CUT_ORIGINAL = """\
From: MAILER-DAEMON@example.net
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

failed
--r
Content-Type: message/rfc822

From: a@example.org
Content-Type: multipart/alternative; boundary="cut-off"

--r--
"""


@pytest.mark.parametrize(
    "text",
    [
        "Content-Type: multipart/mixed\n\nno boundary\n",
        "Content-Type: multipart/mixed; boundary=b\n\nno delimiter\n",
        "Content-Type: multipart/mixed; boundary=b\n\nbefore\n--b--\nafter\n",
        CUT_ORIGINAL,
        CUT_ORIGINAL.replace('; boundary="cut-off"', ""),
    ],
    ids=[
        "no-boundary",
        "no-delimiter",
        "only-the-closing-delimiter",
        "returned-original-cut-off",
        "returned-original-without-boundary",
    ],
)
def test_a_multipart_without_its_first_delimiter_is_read_as_the_stdlib_reads_it(
    text,
):
    assert assert_same_or_declined(text)


def test_header_block_parse_matches_the_stdlib_header_parser():
    text = "Received: from a\n\tby b; now\nSubject:  hi \nX:\n\nbody\nmore\n"
    fast = mime.parse_headers(text)
    plain = HeaderParser(policy=compat32).parsestr(text)
    assert fast.items() == plain.items()
    assert fast.get_payload() == plain.get_payload()


def test_a_field_block_is_recognised_as_the_block_pattern_recognises_it(
    probe_texts,
):
    alphabet = "\n\n\n \t:aB-~\x7f\x1f\udcc3"
    for text in probe_texts(alphabet):
        if "\r" in text:
            continue
        start = 0
        while start <= len(text):
            stop = mime._blank_line(text, start, len(text))
            expected = mime._BLOCK.fullmatch(text, start, stop) is not None
            fields = mime._field_block(text, start, stop)
            assert (fields is not None) == expected, repr(text)
            if expected:
                assert fields == mime._FIELD.findall(text, start, stop), repr(text)
            start = stop + 1
