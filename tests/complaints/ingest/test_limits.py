"""Work limits per message: a hostile message is "too complex", a real one is
read as before. (No timings here: ``manage.py bench_hostile`` prints them.)"""

import pytest

from complaints.ingest import classify, limits, parse, prepare
from complaints.management.commands.bench_hostile import (
    dash_lines,
    empty_parts,
    full_parts,
    headed_parts,
    many_headers,
    nested,
)


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        (empty_parts(limits.MAX_PARTS + 5), "MIME parts"),
        (nested(limits.MAX_CONTAINERS + 5), "nested or multipart parts"),
        (many_headers(limits.MAX_HEADERS + 5), "header fields"),
        (headed_parts(500, 60), "header lines in its parts"),
    ],
    ids=["parts", "depth", "headers", "part headers"],
)
def test_message_over_a_limit_is_too_complex(raw, what):
    with pytest.raises(limits.TooComplexError, match=what):
        limits.check_complexity(parse.normalize_newlines(raw))
    report = classify(raw)
    assert report.error.startswith("TooComplexError: too complex: ")


@pytest.mark.parametrize(
    "raw",
    [
        empty_parts(limits.MAX_PARTS - 2),
        nested(limits.MAX_CONTAINERS - 1),
        many_headers(limits.MAX_HEADERS - 10),
        dash_lines(5_000),
    ],
    ids=["parts", "depth", "headers", "lines that are not delimiters"],
)
def test_message_within_the_limits_is_read(raw):
    assert classify(raw).error is None


def test_lines_that_only_look_like_delimiters_do_not_count_as_parts():
    raw = parse.normalize_newlines(dash_lines(limits.MAX_PARTS * 3))
    limits.check_complexity(raw)


def test_walk_shallow_yields_parts_in_document_order():
    msg = parse.parse_bytes(
        b"Content-Type: multipart/mixed; boundary=a\n\n"
        b"--a\nContent-Type: multipart/alternative; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\none\n"
        b"--b\nContent-Type: text/html\n\ntwo\n--b--\n"
        b"--a\nContent-Type: text/plain\n\nthree\n--a--\n"
    )
    kinds = [parse.content_type(part) for part in parse.walk_shallow(msg)]
    assert kinds == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/plain",
    ]


def test_parts_beyond_the_byte_budget_keep_their_headers_only():
    raw = parse.normalize_newlines(full_parts(60, 20_000))
    kept = prepare.shorten_long_parts(raw)
    assert len(kept) < limits.MAX_KEPT_BYTES + 60 * 200
    assert kept.count(b"\n--b") == raw.count(b"\n--b")
    assert kept.count(b"Content-Type: text/plain") == 60
    assert len(parse.parse_bytes(raw).get_payload()) == 60


def test_notification_text_is_bounded_whatever_the_number_of_parts():
    msg = parse.parse_bytes(full_parts(90, 22_000))
    assert len(parse.notification_text(msg)) <= limits.MAX_NOTICE_CHARS + 100


def test_containers_are_counted_exactly_once_slashes_could_hold_that_many():
    # Each counted field ends with a "/" of its own: only a message with
    # more slashes than the limit is searched, and then counted exactly.
    field = b"Content-Type: multipart/mixed; boundary=x\n"
    over = field * (limits.MAX_CONTAINERS + 1)
    assert limits._container_count(over) == limits.MAX_CONTAINERS + 1
    slashes = b"X-Path: " + b"/" * (limits.MAX_CONTAINERS * 2) + b"\n"
    assert limits._container_count(slashes + field * 3) == 3
    assert limits._container_count(field * 3) == 0  # under the limit, uncounted
