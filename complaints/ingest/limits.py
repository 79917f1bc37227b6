"""How much work one message may cost the parser, checked on its raw bytes.

The stdlib MIME parser, ``prepare`` and the readers are all linear or better in
the size of a sensible message, but a hostile one can make their cost explode
in other dimensions: 400,000 empty parts in 2 MB, thousands of nested
multiparts (the parser recurses per level), or a header block of 100,000
fields that every header lookup scans. Real complaints and bounces have a
handful of parts, a few levels and a few dozen headers, so the limits below sit
far above anything legitimate and far below what hurts.

The check runs on the bytes the parser would see (already cut to
``parse.MAX_PARSE_BYTES``) before any of it is parsed, with counting passes
that run at C speed. A message over a limit raises ``TooComplexError``;
``classify`` turns that, like any failure, into ``Report(kind=other,
error=...)``, and the pipeline marks the message failed with the reason, where
staff see it on the failed page. Pure: no ORM, no settings.
"""

from __future__ import annotations

import re

# Delimiter lines of declared boundaries: each opens (or closes) one part.
MAX_PARTS = 1_000
# Parts that contain others (multipart/*, message/*). Each level of nesting
# needs one, so this also bounds the depth the parser recurses to.
MAX_CONTAINERS = 100
# Header fields in the message's own header block, and in all its parts'
# header blocks together.
MAX_HEADERS = 2_000
MAX_PART_HEADERS = 20_000
# How far after a delimiter line its part's header block is looked for.
_PART_HEAD_WINDOW = 16_000

# Bytes of part bodies handed to the MIME parser (``prepare`` keeps only the
# headers of the parts beyond), and characters of notification text the
# readers scan line by line: both well above a real notice and its report.
MAX_KEPT_BYTES = 300_000
MAX_NOTICE_CHARS = 64_000

_CONTAINER = re.compile(rb"content-type:[ \t]*(?:multipart|message)/")
_BOUNDARY = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\n]{1,200})"|([^\s;"]{1,200}))')
_CONTINUATION = re.compile(rb"\n[ \t]")


class TooComplexError(ValueError):
    """The message would cost more to parse than any real report needs."""


def check_complexity(raw: bytes) -> None:
    """Raise TooComplexError when ``raw`` (LF line endings) is over a limit."""
    containers = _container_count(raw)
    if containers > MAX_CONTAINERS:
        raise TooComplexError(
            f"too complex: {containers} nested or multipart parts "
            f"(the limit is {MAX_CONTAINERS})"
        )
    parts = _part_count(raw)
    if parts > MAX_PARTS:
        raise TooComplexError(
            f"too complex: {parts} MIME parts (the limit is {MAX_PARTS})"
        )
    headers = _header_count(raw)
    if headers > MAX_HEADERS:
        raise TooComplexError(
            f"too complex: {headers} header fields (the limit is {MAX_HEADERS})"
        )
    part_headers = _part_header_lines(raw, parts)
    if part_headers > MAX_PART_HEADERS:
        raise TooComplexError(
            f"too complex: {part_headers} header lines in its parts "
            f"(the limit is {MAX_PART_HEADERS})"
        )


def _container_count(raw: bytes) -> int:
    """The Content-Type fields of multiparts and messages, or 0 when there
    cannot be more than the limit: each ends with a "/" of its own, so a
    message with few slashes (most are) needs no lowercased copy and search."""
    if raw.count(b"/") <= MAX_CONTAINERS:
        return 0
    return len(_CONTAINER.findall(raw.lower()))


def declared_delimiters(raw: bytes) -> re.Pattern[bytes] | None:
    """A pattern matching the delimiter lines (from their leading newline) of
    every boundary ``raw`` declares, as the stdlib parser recognises them
    (RFC 2046 section 5.1.1: the boundary, an optional closing ``--``, blanks);
    None when a boundary is declared in a form this does not read (RFC 2231
    parameter continuations), so the caller must assume any line may be one.
    Compiled per message: only for the rare message that needs it."""
    if b"boundary*" in raw.lower():
        return None
    boundaries = sorted({a or b for a, b in _BOUNDARY.findall(raw)}, key=len)
    if not boundaries:
        return re.compile(rb"(?!)")  # no multipart: no line is a delimiter
    alternatives = b"|".join(re.escape(b) for b in reversed(boundaries))
    return re.compile(rb"\n--(?:" + alternatives + rb")(?:--)?[ \t]*(?=\n|\Z)")


def _part_count(raw: bytes) -> int:
    """The delimiter lines of the declared boundaries. The cheap count of every
    line starting ``--`` decides almost every message."""
    rough = raw.count(b"\n--") + raw.startswith(b"--")
    if rough <= MAX_PARTS:
        return rough
    pattern = declared_delimiters(raw)
    if pattern is None:
        return rough
    return len(pattern.findall(b"\n" + raw))


def _part_header_lines(raw: bytes, parts: int) -> int:
    """Lines of the header blocks after lines that may be delimiters (an upper
    bound: continuation lines count too), in at most MAX_PARTS * 2 windows of
    bounded size."""
    if parts * _PART_HEAD_WINDOW // 2 <= MAX_PART_HEADERS:
        return 0  # too few parts to hold that many lines
    # Each window below counts at most every line of the message: when that
    # many windows cannot reach the limit, the count is not needed either
    # (the common case: a few parts, a few dozen lines).
    windows = min(raw.count(b"\n--"), MAX_PARTS * 2)
    if windows * raw.count(b"\n") <= MAX_PART_HEADERS:
        return 0
    total = 0
    at = raw.find(b"\n--")
    for _ in range(MAX_PARTS * 2):
        if at < 0:
            break
        window_end = at + _PART_HEAD_WINDOW
        end = raw.find(b"\n\n", at + 1, window_end)
        total += raw.count(b"\n", at + 1, window_end if end < 0 else end)
        at = raw.find(b"\n--", at + 3)
    return total


def _header_count(raw: bytes) -> int:
    end = raw.find(b"\n\n")
    block = raw if end < 0 else raw[: end + 1]
    lines = block.count(b"\n")
    if lines <= MAX_HEADERS:
        return lines
    return lines - len(_CONTINUATION.findall(block))
