"""Turn raw email bytes into an ``email.message.Message`` and read it safely.

This module owns everything that touches the wire format: line-ending
normalisation, size caps, RFC 2047 header decoding, charset fallbacks, walking
MIME parts while staying out of attached originals, and finding addresses in
free text. Every helper tolerates broken input (bad charsets, 8-bit junk,
missing boundaries) because bounces and complaints are written by the
least careful software on the internet.

The tree is compat32's (``policy=compat32``): several times faster than
``policy.default``, it never raises on malformed headers, and headers are
decoded lazily, only when a caller asks for one. ``mime`` builds it for
well-formed mail; the stdlib parser builds it for the rest.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from collections.abc import Iterator
from email.message import Message
from email.parser import HeaderParser, Parser
from email.policy import compat32
from email.utils import collapse_rfc2231_value
from itertools import chain

from . import mime
from .limits import MAX_NOTICE_CHARS, check_complexity
from .prepare import prepare_lowered

# Reports worth reading are small; a multi-megabyte input is nearly always a
# bounce carrying the original's attachments. Parsing is capped so one huge
# message cannot stall the worker; the notification and the headers of the
# original sit at the start.
MAX_PARSE_BYTES = 2_000_000
# Text read from any single part for pattern matching.
MAX_PART_CHARS = 64_000

_PARSER = Parser(policy=compat32)
_HEADER_PARSER = HeaderParser(policy=compat32)

_SURROGATE = re.compile("[\udc80-\udcff]")
_CR_ONLY = re.compile(rb"\r(?!\n)")
_CRLF = re.compile(rb"\r\n")
_FOLD = re.compile(r"\r?\n[ \t]+")
_FOLD_LF = re.compile(r"\n[ \t]+")
_FALLBACK_CHARSETS = ("utf-8", "cp1252")
_CHARSET_ALIASES = {
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "latin-1",
    "unknown-8bit": "latin-1",
    "x-user-defined": "latin-1",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
}

# Local parts, domain labels and a TLD; deliberately simpler than RFC 5322
# because bounce text quotes addresses in every conceivable way.
ADDRESS_RE = re.compile(
    r"(?<![\w.+=%/-])"
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{1,24})"
    r"(?![\w-])"
)
_FULL_ADDRESS_RE = re.compile(ADDRESS_RE.pattern + r"\Z")


def normalize_newlines(raw: bytes) -> bytes:
    """Return ``raw`` with LF line endings, whatever it used before."""
    if b"\r" not in raw:
        return raw
    return _CR_ONLY.sub(b"\n", _CRLF.sub(b"\n", raw))


def header_block(raw: bytes, *, limit: int = 65536) -> bytes:
    """The raw header section of a message: up to the first empty line (CRLF or
    LF endings), within the first ``limit`` bytes. For cheap looks at one header
    without parsing the message."""
    head = raw[:limit]
    ends = [i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0]
    return head[: min(ends)] if ends else head


def parse_bytes(raw: bytes) -> Message:
    """Parse raw bytes into a compat32 ``Message``; never raises on bad input,
    except ``limits.TooComplexError`` for a message over a work limit. Whether
    a delivery-status part was cut on the way is kept for ``was_cut``."""
    text, lowered, shortened = _wire_text_lowered(raw)
    msg = mime.parse_text(text, lowered)
    if msg is None:
        msg = _PARSER.parsestr(text)
    msg._ingest_cut = shortened  # type: ignore[attr-defined]
    return msg


def wire_text(raw: bytes) -> tuple[str, bool]:
    """The text ``parse_bytes`` parses (capped, LF endings, prepared, 8-bit
    bytes as surrogate escapes, as ``BytesParser`` decodes them), and whether
    a delivery-status part was cut."""
    text, _lowered, shortened = _wire_text_lowered(raw)
    return text, shortened


def _wire_text_lowered(raw: bytes) -> tuple[str, str, bool]:
    """``wire_text``, with the text lowercased between them (bytes lowercase
    only ASCII letters, as ``str.lower`` does in a text of ASCII characters
    and surrogate escapes)."""
    if len(raw) > MAX_PARSE_BYTES:
        raw = raw[:MAX_PARSE_BYTES]
    raw = normalize_newlines(raw).lstrip(b"\n")
    # An mbox "From " separator line is not a header and would hide the rest.
    if raw.startswith(b"From ") and b"\n" in raw:
        raw = raw.split(b"\n", 1)[1]
    check_complexity(raw)
    prepared, lowered, shortened = prepare_lowered(raw)
    return (
        prepared.decode("ascii", "surrogateescape"),
        lowered.decode("ascii", "surrogateescape"),
        shortened,
    )


def parse_header_block(text: str) -> Message:
    """Parse a block of header lines (pasted or ``text/rfc822-headers``)."""
    text = text.replace("\r\n", "\n").lstrip("\n")
    msg = mime.parse_headers(text)
    return _HEADER_PARSER.parsestr(text) if msg is None else msg


def _codec(charset: str | None) -> str:
    name = (charset or "").strip().strip('"').lower()
    return _CHARSET_ALIASES.get(name, name) or "ascii"


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode bytes with the declared charset, falling back sensibly."""
    for codec in (_codec(charset), *_FALLBACK_CHARSETS):
        try:
            return data.decode(codec)
        # ValueError covers UnicodeDecodeError and a codec name the codec
        # registry refuses outright (one with a NUL in it).
        except (LookupError, ValueError):
            continue
    return data.decode("latin-1")


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t]+(=\?)")


def _decode_word(match: re.Match[str]) -> str:
    """Decode one RFC 2047 encoded word; leave it as it was if it is broken."""
    charset, encoding, data = match.groups()
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix
    try:
        if encoding in "bB":
            raw = base64.b64decode(data + "=" * (-len(data) % 4))
        else:
            raw = quopri.decodestring(data.replace("_", " ").encode("ascii", "replace"))
    except (ValueError, binascii.Error):
        return match.group(0)
    return decode_bytes(raw, charset)


def decode_header_value(value: object) -> str:
    """Decode an RFC 2047 header value (any charset, any junk) to one line."""
    if value is None:
        return ""
    text = str(value)
    if "\n" in text:
        # Without a carriage return, the pattern that starts at the newline
        # itself (a literal, which ``re`` skips to) folds the same way.
        text = (_FOLD_LF if "\r" not in text else _FOLD).sub(" ", text)
    if not text.isascii():
        text = unsurrogate(text)
    if "=?" in text:
        # RFC 2047 section 6.2: whitespace between encoded words is dropped.
        text = _ENCODED_WORD.sub(_decode_word, _BETWEEN_WORDS.sub(r"\1\2", text))
    return text.strip()


def unsurrogate(text: str, charset: str | None = "utf-8") -> str:
    """Turn compat32's surrogate-escaped 8-bit bytes back into characters."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), charset)


# What ``_raw_values`` returns for a header the message lacks; callers only
# read it.
_NO_VALUES: list[str] = []


def _raw_values(msg: Message, name: str) -> list[str]:
    # raw_items() bypasses compat32's header_fetch_parse, which turns raw
    # 8-bit header bytes into U+FFFD; the surrogates it keeps are decodable.
    # The index is built once per message and kept on it.
    try:
        index: dict[str, list[str]] = msg._ingest_headers  # type: ignore[attr-defined]
    except AttributeError:
        index = msg._ingest_headers = _header_index(msg)  # type: ignore[attr-defined]
    return index.get(name.lower(), _NO_VALUES)


def _header_index(msg: Message) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    # The list raw_items() iterates a copy of.
    for key, value in msg._headers:  # type: ignore[attr-defined]
        lowered = key.lower()
        values = index.get(lowered)
        if values is None:
            index[lowered] = [str(value)]
        else:
            values.append(str(value))
    return index


def lowered_names(msg: Message) -> str:
    """Every field name of ``msg``, lowercased, one a line: to ask cheaply
    whether any name holds a word."""
    try:
        index: dict[str, list[str]] = msg._ingest_headers  # type: ignore[attr-defined]
    except AttributeError:
        index = msg._ingest_headers = _header_index(msg)  # type: ignore[attr-defined]
    return "\n".join(index)


_NOT_DECODED = object()


def header(msg: Message, name: str) -> str | None:
    """Return the decoded first ``name`` header of ``msg``, or None."""
    # Decoded once per message and name: readers ask for From, Subject and
    # the like again and again.
    try:
        decoded: dict[str, str | None] = msg._ingest_decoded  # type: ignore[attr-defined]
    except AttributeError:
        decoded = msg._ingest_decoded = {}  # type: ignore[attr-defined]
    # Looked up with a default, not caught as a KeyError: most names are
    # asked for once, and raising costs more than the lookup.
    value = decoded.get(name, _NOT_DECODED)
    if value is not _NOT_DECODED:
        return value  # type: ignore[return-value]
    values = _raw_values(msg, name)
    value = (decode_header_value(values[0]) or None) if values else None
    decoded[name] = value
    return value


def header_all(msg: Message, name: str) -> list[str]:
    """Return every decoded ``name`` header of ``msg``, in order."""
    return [decode_header_value(v) for v in _raw_values(msg, name)]


def part_text(part: Message, limit: int = MAX_PART_CHARS) -> str:
    """Return the decoded text of a non-multipart part, capped at ``limit``.

    The text is decoded once per part and kept on it: several readers look
    at the same part (ARF, DSN, the notification text).
    """
    text: str | None = getattr(part, "_ingest_text", None)
    if text is None:
        text, cut = _decode_part(part)
        part._ingest_text = text  # type: ignore[attr-defined]
        part._ingest_cut = cut  # type: ignore[attr-defined]
    return text[:limit] if limit < MAX_PART_CHARS else text


# The transfer encodings ``get_payload(decode=True)`` undoes; under any other
# it returns the text's own bytes.
_DECODED_ENCODINGS = frozenset(
    {"quoted-printable", "base64", "x-uuencode", "uuencode", "uue", "x-uue"}
)
# Codecs that read ASCII bytes as the very same characters.
_ASCII_CODECS = frozenset(
    {
        "ascii",
        "us-ascii",
        "utf-8",
        "utf8",
        "iso-8859-1",
        "latin-1",
        "latin1",
        "iso-8859-15",
        "windows-1252",
        "cp1252",
    }
)


def _decode_part(part: Message) -> tuple[str, bool]:
    """The part's text, and whether it was cut to MAX_PART_CHARS."""
    payload = part._payload
    # An empty body (a DSN's field blocks have one) decodes to nothing under
    # any transfer encoding and charset.
    if payload == "":
        return "", False
    # Most parts are ASCII text without a transfer encoding: the bytes
    # ``get_payload(decode=True)`` would make of them decode back to the same
    # text, so the text is taken as it is (the stdlib's payload reading
    # scans and lowercases every header name for the encoding).
    if isinstance(payload, str) and payload.isascii():
        encoding = _raw_values(part, "content-transfer-encoding")[:1]
        if not encoding or (
            encoding[0].isascii() and encoding[0].lower() not in _DECODED_ENCODINGS
        ):
            if _codec(content_charset(part)) in _ASCII_CODECS:
                text = payload[: MAX_PART_CHARS * 2]
                cut = len(payload) > MAX_PART_CHARS * 2 or len(text) > MAX_PART_CHARS
                text = text[:MAX_PART_CHARS]
                return text.replace("\r\n", "\n").replace("\r", "\n"), cut
    payload = part.get_payload(decode=True)
    cut = False
    if isinstance(payload, bytes):
        charset = content_charset(part)
        cut = len(payload) > MAX_PART_CHARS * 2
        text = decode_bytes(payload[: MAX_PART_CHARS * 2], charset)
    else:
        raw = part.get_payload()
        text = unsurrogate(raw) if isinstance(raw, str) else ""
    cut = cut or len(text) > MAX_PART_CHARS
    return text[:MAX_PART_CHARS].replace("\r\n", "\n").replace("\r", "\n"), cut


def was_cut(msg: Message) -> bool:
    """Whether any part of the notification read so far was cut short."""
    return any(getattr(part, "_ingest_cut", False) for part in walk_shallow(msg))


def content_type(part: Message) -> str:
    """Return the lowercased MIME type, tolerating garbage Content-Type values.

    The answer is cached on the part: classification asks many times.
    """
    cached = getattr(part, "_ingest_content_type", None)
    if cached is None:
        try:
            cached = part.get_content_type()
        except (ValueError, IndexError):
            cached = "text/plain"
        part._ingest_content_type = cached  # type: ignore[attr-defined]
    return cached


# Parts whose content is the reported or returned message, not the report.
ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"}
)


def walk_shallow(msg: Message) -> Iterator[Message]:
    """Yield every part of ``msg`` without descending into attached messages.

    An attached original (``message/rfc822``) carries its own text, and that
    text must never be mistaken for the notification. The parts are listed
    once per message and kept on it: classification walks them many times,
    and a parsed tree is never changed.
    """
    below: list[Message] | None = getattr(msg, "_ingest_shallow", None)
    if below is None:
        # Only the parts below it are kept on ``msg``: a list holding ``msg``
        # itself would make every parsed tree a reference cycle, freed by the
        # garbage collector instead of at once (it cost a quarter of the
        # time of classifying a message, most of it in collections).
        below = msg._ingest_shallow = _shallow_parts(msg)[1:]  # type: ignore[attr-defined]
    return chain((msg,), below)


def _shallow_parts(msg: Message) -> list[Message]:
    # Depth first, in document order: children go on the stack reversed, so
    # each pop is O(1) (a list used as a queue made this quadratic).
    parts = []
    stack = [msg]
    while stack:
        part = stack.pop()
        parts.append(part)
        if content_type(part) in ORIGINAL_TYPES:
            continue
        payload = part._payload
        if isinstance(payload, list):
            stack.extend(p for p in reversed(payload) if isinstance(p, Message))
    return parts


def text_parts(msg: Message) -> Iterator[Message]:
    """Yield the text parts of the notification itself (not of the original)."""
    for part in walk_shallow(msg):
        if part.is_multipart():
            continue
        ctype = content_type(part)
        # A multipart with a missing or wrong boundary arrives as one text blob.
        if ctype.startswith(("text/", "multipart/")) and ctype not in ORIGINAL_TYPES:
            yield part


_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]{0,2000}>", re.S | re.I)
_BR = re.compile(r"<\s*(br|/p|/div|/tr|p|div|tr|li)\b[^>]*>", re.I)
_ENTITIES = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}
_ENTITY_RE = re.compile("|".join(_ENTITIES))


def html_to_text(html: str) -> str:
    """Crude HTML to text, enough to find addresses and SMTP replies."""
    text = _BR.sub("\n", html)
    text = _TAG.sub("", text)
    return _ENTITY_RE.sub(lambda m: _ENTITIES[m.group(0)], text)


def notification_text(msg: Message) -> str:
    """Return the human-readable text of a report, plain text preferred."""
    plain: list[str] = []
    html: list[str] = []
    # Readers scan the notice line by line: bound the text they get, whatever
    # the number of parts it is spread over.
    budget = {"plain": MAX_NOTICE_CHARS, "html": MAX_NOTICE_CHARS}
    for part in text_parts(msg):
        kind = "html" if content_type(part) == "text/html" else "plain"
        if budget[kind] <= 0:
            continue
        text = part_text(part)[: budget[kind]]
        budget[kind] -= len(text)
        (html if kind == "html" else plain).append(text)
    if any(p.strip() for p in plain):
        return "\n".join(plain)
    # Converted only when no plain text wins: most HTML parts are the
    # alternative of a plain one.
    return "\n".join(map(html_to_text, html))


def attached_messages(msg: Message) -> Iterator[Message]:
    """Yield parts that hold an attached message or its headers: the message
    types, and a saved message attached as a file ("spam.eml", often sent as
    ``application/octet-stream``) that mail clients produce when forwarding."""
    cached: tuple[bool, list[Message]] | None = getattr(msg, "_ingest_attached", None)
    if cached is None:
        parts = [
            part
            for part in walk_shallow(msg)
            if content_type(part) in ORIGINAL_TYPES or _is_saved_message(part)
        ]
        # ``msg`` itself is kept as a flag, not in the list (see walk_shallow).
        is_itself = bool(parts) and parts[0] is msg
        cached = (is_itself, parts[1:] if is_itself else parts)
        msg._ingest_attached = cached  # type: ignore[attr-defined]
    is_itself, below = cached
    return chain((msg,), below) if is_itself else iter(below)


def _is_saved_message(part: Message) -> bool:
    if part.is_multipart():
        return False
    # A file name ending ".eml" shows "eml" in the raw fields, or an RFC 2231
    # percent escape: without either, the stdlib's reading is not needed.
    raw = " ".join(
        _raw_values(part, "content-disposition")[:1]
        + _raw_values(part, "content-type")[:1]
    ).lower()
    if "eml" not in raw and "%" not in raw:
        return False
    name = (part.get_filename() or "").strip().lower()
    return name.endswith(".eml")


def content_param(part: Message, name: str) -> str | None:
    """``part.get_param(name)`` of the Content-Type field, read directly when
    the field is plain (``name`` lowercase); an RFC 2231 value
    (``report-type*=utf-8''delivery-status``) is decoded to its text, where
    the stdlib gives a (charset, language, value) tuple."""
    values = _raw_values(part, "content-type")
    if not values:
        return None
    is_plain, value = mime.plain_param(values[0], name)
    if is_plain:
        return value
    param = part.get_param(name)
    return collapse_rfc2231_value(param) if isinstance(param, tuple) else param


def content_charset(part: Message) -> str | None:
    """``part.get_content_charset()``, read directly when the field is plain."""
    values = _raw_values(part, "content-type")
    if not values:
        return None
    is_plain, charset = mime.plain_param(values[0], "charset")
    if not is_plain:
        return part.get_content_charset()
    return charset.lower() if charset is not None else None


def attached_message(part: Message) -> Message | None:
    """Return the message inside a message/rfc822 or rfc822-headers part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        inner = next((p for p in payload if isinstance(p, Message)), None)
        if inner is not None and len(inner.keys()):
            return inner
    text = part_text(part)
    if not text.strip():
        return None
    inner = parse_header_block(text)
    return inner if len(inner.keys()) else None


def clean_address(value: str | None) -> str | None:
    """Return the bare lowercased address in ``value``, or None."""
    if not value:
        return None
    value = value.strip().strip("<>\"' \t").rstrip(".,;:")
    if _FULL_ADDRESS_RE.match(value):
        return value.lower()
    match = ADDRESS_RE.search(value)
    return match.group(1).lower() if match else None


def addresses_in(text: str) -> list[str]:
    """Return every address in ``text``, lowercased, in order, deduplicated."""
    if "@" not in text:
        return []
    return list(dict.fromkeys(m.group(1).lower() for m in ADDRESS_RE.finditer(text)))


def squash(text: str, limit: int = 1000) -> str:
    """Collapse whitespace and cap the length, for diagnostics."""
    # str.split() splits on exactly the characters \s matches. A long text is
    # squashed from its start only, when that already yields ``limit``
    # characters (what follows cannot change them).
    head = " ".join(text[: limit * 4].split())
    if len(head) >= limit or len(text) <= limit * 4:
        return head[:limit]
    return " ".join(text.split())[:limit]
