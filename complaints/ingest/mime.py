"""Build the stdlib's ``Message`` tree for well-formed mail without its feed parser.

``email.feedparser`` reads a message line by line through a stack of
generators, testing every line against every enclosing boundary: for the small
notices the desk reads, that is a third of all the work of classifying one.
``parse_text`` builds the very same tree (``compat32`` messages with the same
headers, payloads, preambles, epilogues and default types) by finding header
blocks and delimiter lines with ``str.find``, and slicing.

It follows the feed parser's rules exactly where they are well-defined:

* a header block ends at the first empty line (which is dropped), a field's
  value is what follows its colon without leading blanks, continuation lines
  kept, the final newline dropped (``Compat32.header_source_parse``);
* a multipart body is split on its delimiter lines (RFC 2046 section 5.1.1:
  ``--boundary``, an optional ``--`` closing it, optional blanks); the newline
  before a delimiter belongs to the delimiter, so it is taken from the end of
  the part before it; a part ends at the first delimiter line of *any*
  enclosing multipart, as in the feed parser;
* ``message/*`` parts hold one message, ``message/delivery-status`` one
  header-only message per blank-line-separated block (RFC 3464 section 2.1),
  and a ``multipart/digest``'s parts default to ``message/rfc822``.

Whenever the input strays from that (a header block the feed parser would
read differently, a multipart without a boundary or a first delimiter, two
delimiter lines in a row, carriage returns, a "From " line), it returns None
and the caller uses the stdlib parser: this module only saves time, and must
never change what is read. ``tests/complaints/ingest/test_mime.py`` compares
both trees on every sample and on mangled copies of them.
"""

from __future__ import annotations

import re
from email.message import Message
from email.policy import compat32

# One header field: a name of printable characters but the colon (RFC 5322
# section 2.2's ftext, the feed parser's ``headerRE``), its first line and
# any continuation lines. Matched at each line start in turn.
_FIELD_RE = r"([\041-\071\073-\176]++):[ \t]*+([^\n]*+(?:\n[ \t][^\n]*+)*+)(?:\n|\Z)"
_FIELD = re.compile(_FIELD_RE)
# The same, matching only at a line start (or where the search starts):
# ``findall`` then never finds a field inside a line that is none.
_FIELD_AT_LINE_START = re.compile("(?<![^\n])" + _FIELD_RE)
# A whole block of such fields. Each field has one way to match (a name
# cannot hold a colon, a continuation line cannot start a name), so when the
# block matches, ``findall`` finds exactly its fields. The quantifiers are
# possessive, so a block that fails does so without backtracking.
_BLOCK = re.compile(f"(?>{_FIELD_RE})*+")
# ``_BLOCK`` matches a block (a run of lines without an empty one) exactly
# when its first line opens a field and every later line opens a field or
# continues one; ``_field_block`` tells that from the fields it reads, where
# ``_BLOCK`` walks every field through a repeated group, at twice the cost of
# reading them. It stays as the definition the tests hold that to.
# What the feed parser takes for a header line (its ``headerRE``): a line
# that fails ``_FIELD`` but passes this would be read in some other way.
_HEADER_LIKE = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")
# The rest of a delimiter line after ``--boundary``.
_DELIMITER_TAIL = re.compile(r"(--)?[ \t]*(?:\n|\Z)")

_DSN = "message/delivery-status"
_DIGEST = "multipart/digest"


class _Unsupported(Exception):
    """The input needs the stdlib parser's handling of broken mail."""


class _Source:
    """The text being parsed, and a lowercased copy for finding field names
    (the text is ASCII with surrogate escapes, so offsets stay the same)."""

    __slots__ = ("text", "lowered")

    def __init__(self, text: str, lowered: str | None = None) -> None:
        self.text = text
        self.lowered = text.lower() if lowered is None else lowered

    def field_at_line_start(self, name: str, start: int, end: int) -> int:
        """Where the first ``name:`` field line of ``[start, end)`` starts, or -1."""
        at = self.lowered.find(name, start, end)
        while at > start and self.text[at - 1] != "\n":
            at = self.lowered.find(name, at + 1, end)
        return at


def parse_text(text: str, lowered: str | None = None) -> Message | None:
    """The ``compat32`` tree the stdlib parser would build from ``text`` (a
    message decoded as ASCII with surrogate escapes), or None to use it;
    ``lowered`` is ``text.lower()`` when the caller has it already."""
    if "\r" in text:
        return None
    try:
        return _message(_Source(text, lowered), 0, len(text), "text/plain")[0]
    except _Unsupported:
        return None


def parse_headers(text: str) -> Message | None:
    """What ``HeaderParser(policy=compat32).parsestr(text)`` returns (the
    header fields, the rest as the payload), or None to use it."""
    if "\r" in text:
        return None
    try:
        msg, body = _headed(_Source(text), 0, len(text), "text/plain")
    except _Unsupported:
        return None
    msg._payload = text[body:]
    return msg


def _headed(
    source: _Source, start: int, end: int, default_type: str
) -> tuple[Message, int]:
    """A message with the header block at ``start``, and where its body starts."""
    text = source.text
    msg = Message(compat32)
    if default_type != "text/plain":
        msg._default_type = default_type
    blank = _blank_line(text, start, end)
    # The usual case, a block of well-formed fields, read in one pass in C.
    fields = _field_block(text, start, blank)
    if fields is not None:
        msg._headers = fields
        body = min(blank + 1, end)  # the empty line ending it is dropped
    else:
        body = _fields_until_body(msg, text, start, blank)
    msg._ingest_content_type = _content_type(msg, source, start, body)
    return msg, body


def _field_block(text: str, start: int, stop: int) -> list[tuple[str, str]] | None:
    """The fields of the block at ``start`` (a line start; the block holds no
    empty line and ends at ``stop``, after its last newline or at the end of
    the text) when ``_BLOCK.fullmatch(text, start, stop)`` holds, else None.

    A field starts only at a line start and takes every continuation line
    after it, and a line that starts with a blank is a continuation: so the
    block is all fields exactly when its first line is not a continuation and
    every other line that is not one starts a field, that is, when there are
    as many fields as lines that are not continuations (cheap counts in C,
    where testing every line with a pattern cost as much as reading them).
    """
    if start >= stop:
        return []
    if text[start] in " \t":
        return None
    fields = _FIELD_AT_LINE_START.findall(text, start, stop)
    # The newline ending the last line opens no line of the block.
    last = stop - 1 if text[stop - 1] == "\n" else stop
    continuations = text.count("\n ", start, last) + text.count("\n\t", start, last)
    lines = text.count("\n", start, last) + 1
    return fields if len(fields) == lines - continuations else None


def _fields_until_body(msg: Message, text: str, start: int, blank: int) -> int:
    """Read fields up to a line that is none: the body starts there (the feed
    parser's missing-separator case), unless that parser would read the line
    some other way."""
    pos = start
    while pos < blank:
        field = _FIELD.match(text, pos, blank)
        if field is None:
            break
        msg._headers.append(field.groups())
        pos = field.end()
    if _HEADER_LIKE.match(text, pos):
        raise _Unsupported
    return pos


def _content_type(msg: Message, source: _Source, start: int, end: int) -> str:
    """``msg.get_content_type()``, without its walk through every field."""
    at = source.field_at_line_start("content-type:", start, end)
    if at < 0:
        return msg.get_default_type()
    value = _FIELD.match(source.text, at, end).group(2)
    msg._ingest_type_field = value  # for the boundary
    if not value.isascii():
        return msg.get_content_type()  # its surrogate handling decides
    ctype = value.partition(";")[0].strip().lower()
    return ctype if ctype.count("/") == 1 else "text/plain"


def _blank_line(text: str, start: int, end: int) -> int:
    """Where the first empty line at or after ``start`` (a line start) begins,
    or ``end``."""
    if start < end and text[start] == "\n":
        return start
    at = text.find("\n\n", start, end)
    return end if at < 0 else at + 1


def _message(
    source: _Source, start: int, end: int, default_type: str
) -> tuple[Message, Message]:
    """The message in ``text[start:end]``, and the last message created in it
    (whose trailing newline belongs to the next delimiter)."""
    msg, body = _headed(source, start, end, default_type)
    ctype = msg._ingest_content_type  # what ``parse.content_type`` caches
    if ctype == _DSN:
        return msg, _status_blocks(msg, source, body, end)
    maintype = ctype.split("/", 1)[0]
    if maintype == "message":
        inner, last = _message(source, body, end, "text/plain")
        msg._payload = [inner]
        return msg, last
    if maintype == "multipart":
        _multipart(msg, ctype, source, body, end)
        return msg, msg
    msg._payload = source.text[body:end]
    return msg, msg


def _status_blocks(msg: Message, source: _Source, start: int, end: int) -> Message:
    """Fill a delivery-status part with its blocks; return the last one."""
    text = source.text
    blocks: list[Message] = []
    pos = start
    while True:
        stop = _blank_line(text, pos, end)
        block, body = _headed(source, pos, stop, "text/plain")
        if source.field_at_line_start("content-type:", pos, body) >= 0:
            raise _Unsupported  # a block typed as something else
        block._payload = text[body:stop]
        blocks.append(block)
        pos = stop + 1 if stop < end else end
        if pos >= end:
            break
    msg._payload = blocks
    return blocks[-1]


def _find_delimiter(
    text: str, separator: str, pos: int, end: int
) -> tuple[int, int, bool]:
    """The first delimiter line of ``separator`` in ``text[pos:end]`` (``pos``
    a line start): its start, its end and whether it closes the multipart;
    ``(end, end, False)`` when there is none."""
    needle = "\n" + separator
    if pos < end and text.startswith(separator, pos):
        line = pos
    else:
        found = text.find(needle, pos, end)
        line = found + 1 if found >= 0 else -1
    while line >= 0:
        tail = _DELIMITER_TAIL.match(text, line + len(separator))
        if tail is not None:
            return line, tail.end(), tail.group(1) is not None
        found = text.find(needle, line, end)
        line = found + 1 if found >= 0 else -1
    return end, end, False


def _multipart(msg: Message, ctype: str, source: _Source, start: int, end: int) -> None:
    text = source.text
    is_plain, boundary = plain_param(msg._ingest_type_field, "boundary")
    if is_plain:
        boundary = boundary.rstrip() if boundary is not None else None
    else:
        boundary = msg.get_boundary()
    if boundary is None:
        # The feed parser's defect path for a multipart without a boundary:
        # the whole body is its payload.
        msg._payload = text[start:end]
        return
    if not boundary or "\n" in boundary:
        raise _Unsupported
    separator = "--" + boundary
    line, after, closes = _find_delimiter(text, separator, start, end)
    if line >= end or closes:
        # No first delimiter (common in a returned original whose body was
        # cut off): the feed parser keeps what comes before the closing
        # delimiter, or the whole body, as the payload, and an empty epilogue.
        msg._payload = text[start:line]
        msg.epilogue = ""
        return
    if line > start:
        msg.preamble = text[start : line - 1]
    default_type = "message/rfc822" if ctype == _DIGEST else "text/plain"
    parts: list[Message] = []
    msg._payload = parts
    while True:
        stop, next_after, closes = _find_delimiter(text, separator, after, end)
        if stop == after < end:
            raise _Unsupported  # delimiter lines in a row
        part, last = _message(source, after, stop, default_type)
        parts.append(part)
        _drop_last_newline(last)
        if stop >= end:
            return  # no closing delimiter: no epilogue
        if closes:
            msg.epilogue = text[next_after:end]
            return
        after = next_after


# What makes the stdlib's parameter reading more than a split on ";" and "="
# with plain double-quoted values: escapes, RFC 2231 names, bracketed values.
_PARAM_SPECIALS = re.compile(r"[\\*<]")


def plain_param(value: str, name: str) -> tuple[bool, str | None]:
    """Parameter ``name`` (lowercase) of a Content-Type ``value``, read as
    ``Message.get_param`` reads it: ``(True, value or None)`` when the field
    is plain enough to split, else ``(False, None)``."""
    if not value.isascii() or _PARAM_SPECIALS.search(value):
        return False, None
    # Every ";" item, the type included, is a name, "=" and a value, or a
    # bare name; a quoted value loses its quotes. A quote anywhere else (a
    # ";" inside quotes, say) is left to the stdlib.
    for item in value.split(";"):
        key, _, found = item.partition("=")
        found = found.strip()
        if '"' in item:
            quoted = found.count('"') == 2 and found[0] == found[-1] == '"'
            if '"' in key or not quoted:
                return False, None
            found = found[1:-1]
        if key.strip().lower() == name:
            return True, found
    return True, None


def _drop_last_newline(last: Message) -> None:
    """The newline before a delimiter belongs to it (RFC 2046 section 5.1.1)."""
    if last._ingest_content_type.startswith("multipart/"):
        epilogue = last.epilogue
        if epilogue == "":
            last.epilogue = None
        elif epilogue is not None and epilogue.endswith("\n"):
            last.epilogue = epilogue[:-1]
    elif isinstance(last._payload, str) and last._payload.endswith("\n"):
        last._payload = last._payload[:-1]
