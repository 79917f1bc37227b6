"""Prepare raw bytes so the stdlib MIME parser has less work to do.

Two rewrites, each of which leaves everything the readers look at as it was.

**Overlong part bodies are shortened.** The readers decode at most
``parse.MAX_PART_CHARS * 2`` bytes of any part and never read images or
documents, yet the parser splits every line it is given: a qmail bounce
quoting a 5 MB original inline costs fifty times the notice. Between two
lines that could open a MIME delimiter (``--`` at a line start, RFC 2046
section 5.1.1), the body of a part declaring a media type (``image/``,
``application/pdf``...) is dropped, and other bytes beyond ``PART_BYTES``
are cut at a line end. No delimiter lies in what is cut, so the MIME
structure stays exactly as it was.

**Attached bodies are dropped.** A bounce or a feedback report often carries
the whole original message (``message/rfc822``), and parsing is paid per line:
a returned newsletter with its images costs far more than the notice around it. The readers only
ever use an attached message's *headers* (RFC 5965 section 2 and RFC 3464
section 2 need nothing more to link a report), so its body is cut out of the
raw bytes, up to the enclosing part's closing boundary, before the MIME
parser sees it.

Two exceptions keep the body: an attached ``multipart/report`` (a gateway
forwarding a DSN or ARF report, which ``classify`` unwraps) and a part whose
content is base64 or quoted-printable encoded (its "headers" are not text
yet).

Anything unexpected leaves the bytes as they were: both rewrites only save
time and must never change what is read. (Boundaries need no renaming:
``mime`` finds delimiter lines without compiling a pattern per boundary.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import limits

# Searched in a lowercased copy: a literal prefix lets ``re`` skip ahead, which
# case-insensitive matching would not (ASCII lowercasing keeps every offset).
_ATTACHED_TYPE = re.compile(
    rb"content-type:[ \t]*(?:message/(?:rfc822|global)|text/rfc822-headers"
    rb"|message/rfc822-headers)[ \t]*(?:;|$)",
    re.M,
)
_BOUNDARY_PARAM = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\n]+)"|([^\s;"]+))')
_ENCODED = re.compile(rb"content-transfer-encoding:[ \t]*(?:base64|quoted-printable)")
_REPORT = re.compile(rb"content-type:[ \t]*multipart/report")
# Bytes kept between two possible delimiters: a part's header block and
# enough body for ``parse.part_text``, which decodes at most 128 KB (base64
# needs 4/3 of that; quoted-printable text rarely grows by half).
PART_BYTES = 200_000
_DELIMITER_START = b"\n--"
# More lines starting "--" than any real message has delimiters.
_MANY_DASH_LINES = 1_000
# Stretches up to this size are kept without a look (most whole messages).
_SMALL_PART = 16_000
# How far a part's header block is looked for.
_HEAD_BYTES = 4_000
# Media no reader looks into. application/octet-stream is not among them: a
# broken feedback report or a returned message is sometimes sent as one.
_MEDIA_TYPE = re.compile(
    rb"\ncontent-type:[ \t]*(?:image|audio|video|font|model)/"
    rb"|\ncontent-type:[ \t]*application/(?!octet-stream)"
)


_STATUS_TYPE = re.compile(rb"\ncontent-type:[ \t]*message/(?:global-)?delivery-status")


def prepare(raw: bytes) -> bytes:
    """Return ``raw`` (LF line endings) trimmed."""
    return prepare_noting_cuts(raw)[0]


def prepare_noting_cuts(raw: bytes) -> tuple[bytes, bool]:
    """``prepare``, and whether a delivery-status part (the list of failed
    recipients) was cut, so a report can say that its list is incomplete. Text
    parts are cut again, and noted, by ``parse.part_text``; other cuts (an
    attached original's body) lose nothing a report lists."""
    prepared, _lowered, cut = prepare_lowered(raw)
    return prepared, cut


def prepare_lowered(raw: bytes) -> tuple[bytes, bytes, bool]:
    """``prepare_noting_cuts``, with the prepared bytes lowercased between
    them: trimming lowercases them anyway, and the MIME parser wants them
    so too."""
    shortened, cut = _shorten(raw)
    prepared, lowered = _trim_attached_bodies(shortened)
    return prepared, lowered, cut


def shorten_long_parts(raw: bytes) -> bytes:
    """Return ``raw`` without media bodies and what lies beyond ``PART_BYTES``."""
    return _shorten(raw)[0]


def _shorten(raw: bytes) -> tuple[bytes, bool]:
    if len(raw) <= _SMALL_PART:
        return raw, False
    pieces = []
    done = 0
    budget = limits.MAX_KEPT_BYTES
    text_cut = False
    for nxt in [*_delimiter_starts(raw), len(raw)]:
        end, _is_media = _kept_end(raw, done, nxt)
        if end - done > budget:
            # Over the message's budget: only the part's headers are kept, so
            # the MIME structure stays and no reader wades through more text.
            end = _head_end(raw, done, end)
        text_cut = text_cut or (end < nxt and _is_status_part(raw, done))
        budget = max(0, budget - (end - done))
        pieces.append(raw[done:end])
        if nxt == len(raw):
            return b"".join(pieces), text_cut
        pieces.append(_DELIMITER_START)
        done = nxt + len(_DELIMITER_START)
    raise AssertionError("unreachable")  # pragma: no cover


def _is_status_part(raw: bytes, start: int) -> bool:
    head = raw[start : _head_end(raw, start, start + _HEAD_BYTES)].lower()
    return _STATUS_TYPE.search(head) is not None


def _head_end(raw: bytes, start: int, stop: int) -> int:
    """The end of the header block opening ``raw[start:stop]`` (after the rest
    of the delimiter line), or of that first line when there is none."""
    head_end = raw.find(b"\n\n", start, min(stop, start + _HEAD_BYTES))
    if head_end >= 0:
        return head_end + 2
    line_end = raw.find(b"\n", start, stop)
    return stop if line_end < 0 else line_end + 1


def _delimiter_starts(raw: bytes) -> Iterator[int]:
    """Where lines that may be MIME delimiters start (their newline).

    Any line starting ``--`` may be one, and finding those is cheap. A message
    with very many of them (a hostile one, written to make the parser read
    every line of 2 MB) is looked at again for the delimiters of the boundaries
    it declares, so that the lines in between can be shortened like any other
    long part."""
    pattern = None
    if raw.count(_DELIMITER_START) > _MANY_DASH_LINES:
        pattern = limits.declared_delimiters(raw)
    if pattern is not None:
        yield from (match.start() for match in pattern.finditer(raw))
        return
    at = raw.find(_DELIMITER_START)
    while at >= 0:
        yield at
        at = raw.find(_DELIMITER_START, at + len(_DELIMITER_START))


def _kept_end(raw: bytes, start: int, stop: int) -> tuple[int, bool]:
    """Where to end the stretch ``raw[start:stop]``, which holds no delimiter,
    and whether it is a media body (whose loss no reader notices)."""
    if stop - start <= _SMALL_PART:
        return stop, False
    # The stretch opens with a delimiter line's end and the part's headers.
    head_end = raw.find(b"\n\n", start, start + _HEAD_BYTES)
    if head_end >= 0 and _MEDIA_TYPE.search(raw[start:head_end].lower()):
        return head_end + 2, True
    if stop - start <= PART_BYTES:
        return stop, False
    # Cut after a whole line, so no line is left half-read.
    return raw.rfind(b"\n", start, start + PART_BYTES) + 1 or stop, False


def trim_attached_bodies(raw: bytes) -> bytes:
    """Return ``raw`` (LF line endings) without the bodies of attached messages."""
    return _trim_attached_bodies(raw)[0]


def _trim_attached_bodies(raw: bytes) -> tuple[bytes, bytes]:
    """``trim_attached_bodies``, and the result lowercased."""
    lowered = raw.lower()
    pos = 0
    while True:
        match = _ATTACHED_TYPE.search(lowered, pos)
        if match is None:
            return raw, lowered
        at = match.start()
        span = (
            _body_span(raw, lowered, at)
            if lowered[at - 1 : at] in (b"\n", b"")
            else None
        )
        if span is None:
            pos = match.end()
            continue
        start, stop = span
        raw, lowered = raw[:start] + raw[stop:], lowered[:start] + lowered[stop:]
        pos = start


def _boundary_spans(lowered: bytes, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of the ``boundary=`` values of Content-Type headers before ``end``."""
    spans = []
    for match in _BOUNDARY_PARAM.finditer(
        lowered, 0, len(lowered) if end is None else end
    ):
        # Other headers say "boundary=" too (LSMTP's X-Report-Type).
        if _header_name_start(lowered, match.start()) >= 0:
            group = 1 if match.start(1) >= 0 else 2
            spans.append((match.start(group), match.end(group)))
    return spans


def _header_name_start(lowered: bytes, at: int) -> int:
    """Where the Content-Type header holding ``at`` starts, or -1."""
    start = lowered.rfind(b"\n", 0, at) + 1
    # Step back over folded continuation lines to the header's name.
    while start > 0 and lowered[start : start + 1] in (b" ", b"\t"):
        start = lowered.rfind(b"\n", 0, start - 1) + 1
    return start if lowered.startswith(b"content-type:", start) else -1


def _delimiters(raw: bytes, lowered: bytes, at: int) -> list[bytes]:
    """Delimiter lines (RFC 2046 section 5.1.1) of multiparts opened before ``at``."""
    # Boundaries are case-sensitive: the values come from the original.
    found = (b"\n--" + raw[start:end] for start, end in _boundary_spans(lowered, at))
    return list(dict.fromkeys(found))


def _part_header_start(raw: bytes, at: int, delimiters: list[bytes]) -> int:
    """Where the MIME header block holding ``at`` begins, or -1 if in a body."""
    # Without a delimiter above, only the top-level header block qualifies.
    start = max((raw.rfind(d, 0, at) for d in delimiters), default=0)
    if start < 0 or b"\n\n" in raw[start:at]:
        return -1
    return start


def _body_span(raw: bytes, lowered: bytes, at: int) -> tuple[int, int] | None:
    """The bytes to drop for the attached message declared at ``at``, or None."""
    delimiters = _delimiters(raw, lowered, at)
    block_start = _part_header_start(raw, at, delimiters)
    part_head_end = raw.find(b"\n\n", at)
    if block_start < 0 or part_head_end < 0:
        return None
    if _ENCODED.search(lowered, block_start, part_head_end):
        return None
    inner = part_head_end + 2
    while raw.startswith(b"\n", inner):
        inner += 1
    inner_head_end = raw.find(b"\n\n", inner)
    if inner_head_end < 0 or _REPORT.search(lowered, inner, inner_head_end):
        return None
    start = inner_head_end + 2
    ends = [raw.find(delimiter, inner_head_end) for delimiter in delimiters]
    stop = min((end for end in ends if end >= 0), default=len(raw))
    return (start, stop) if stop > start else None
