"""Bounces that are not RFC 3464 DSNs, read from their human-readable text.

Owns recognising a non-DSN bounce (qmail's QSBMF, Exim, Postfix and Sendmail
plain-text notices, Exchange, Domino, GroupWise, Yahoo, SMTP32 and the many
home-grown formats) and pulling out the failed addresses with the text that
explains each failure.

Formats differ in detail but share a shape: a heading ("did not reach the
following recipients", "could not be delivered to"), then each address alone
on a line or at the start of one (``<a@b>:``, ``a@b on <date>``), followed
by the remote server's reply. The reader works on that shape rather than on
one pattern per vendor, and stops before the quoted original message, whose
own addresses must never be reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from functools import cached_property

from . import parse, reasons, status
from .notice_words import (
    _FATAL_RE,
    _GAVE_UP_RE,
    _SURE_WARNING_RE,
    _WARNING_RE,
    BOUNCE_SENDER_RE,
    BOUNCE_SUBJECT_RE,
    FAILURE_TEXT_RE,
)

__all__ = ["BOUNCE_SENDER_RE", "BOUNCE_SUBJECT_RE", "FAILURE_TEXT_RE"]

# Where the notification ends and the returned message begins.
# One "^" for all the branches, and a look-ahead for what a line must start
# with: most positions fail on the first test, not on each branch's.
_CUT_RE = re.compile(
    r"^(?=[ \t>*_=\-otrymdax])(?:"
    r"[ \t>]*[-=*_]{2,}[ \t]*(this is a copy|below this line|original message"
    r"|the original message|returned message|message (text|body|header)s?"
    r" follows?|unsent message|undelivered message|forwarded message"
    r"|headers? of (the )?original|original mail)"
    r"|[ \t]*(original message follows|the original message (headers?|follows)"
    r"|original message (headers|details)|returned mail follows"
    r"|your message (reads|follows)"
    r"|message headers follow|----- message text -----|--- below this line"
    r"|\*+ ?message header follows)"
    r"|(return-path|received|dkim-signature|arc-seal|x-received|message-id)"
    r"[ \t]*:[ \t]*\S)",
    re.I | re.M,
)
# ``_CUT_RE`` from the newline before each line instead of at every line
# start: a literal first, which ``re`` skips to, instead of a test of "^" at
# every character. The text's first line needs no test: a marker there has
# no notice text before it and never ends the notice.
_CUT_AFTER_NEWLINE_RE = re.compile("\n" + _CUT_RE.pattern[1:], re.I)
_HEADERISH_RE = re.compile(
    r"^[\s>*•-]*(from|to|cc|bcc|sender|reply-to|return-path|received|message-id"
    r"|in-reply-to|references|subject|date|delivered-to|envelope-to|errors-to"
    r"|x-[\w-]+|list-[\w-]+|reporting-mta|remote-mta|dkim-signature"
    r"|authentication-results|mail from|>>> mail from|sent by)\s*:",
    re.I,
)
# Only asked whether it occurs; "to:" opens with its letter and looks behind
# for the word start, so every branch opens with a literal (see notice_words).
_HEADING_RE = re.compile(
    r"following (recipients?|address(es)?|destinations?|users?)|recipients?"
    r" (or groups|failed|:)|could not be delivered to|not delivered to"
    r"|unable to deliver|delivery to the following|failed (for|to)|was not"
    r" delivered|permanent fatal errors|did not reach|undeliverable to"
    r"|delivery has failed|could not deliver|addresses had|t(?<!\wt)o:\s*$|because:"
    r"|failed (addresses|recipients)|was (automatically )?rejected",
)
_ADDRESS_ONLY_RE = re.compile(
    r"^\s*[\"'(]?(rcpt to|to|smtp|[\w -]{0,30}recipients?|addr(ess)?|user)?\s*[:=]?"
    r"\s*[<\[(\"']?(?P<addr>[^\s<>()\[\]\"']+@[^\s<>()\[\]\"']+)[>\])\"']?"
    r"[\s:;,.]*(\(.*\))?\s*(on .*)?$",
    re.I,
)
_ADDRESS_LEAD_RE = re.compile(
    r"^\s*<(?P<addr>[^\s<>]+@[^\s<>]+)>\s*[:.,]?\s*(?P<rest>.*)$"
)
_COLON_LEAD_RE = re.compile(r"^\s*(?P<addr>[^\s<>:]+@[^\s<>:]+):\s+(?P<rest>\S.*)$")
_IGNORED_LOCAL_RE = re.compile(
    r"^(postmaster|mailer[-_]?daemon|mail[-_]?daemon|hostmaster|noreply|no-reply"
    r"|double-bounce|bounces?)$",
    re.I,
)
_MESSAGE_ID_LOCAL_RE = re.compile(r"^[\w.$-]{16,}$")
_URL_BEFORE_RE = re.compile(r"(https?://|www\.)\S*$", re.I)
# "... not accepting mail from <sender>": the sender, not a recipient. Exim's
# "(generated from a@b)" names the address the sender wrote, though.
_SENDER_BEFORE_RE = re.compile(
    r"\b(?<!generated )(from|sender|by|envelope)\s*:?\s*<?$", re.I
)
# Words that put the failed address right after them on the same line:
# "addressed to 'a@b'", Demon's "was addressed, a@b, did not", LISTSERV's
# "Error-for: a@b", SMTP32's "Invalid final delivery userid: a@b".
_LEAD_IN_RE = re.compile(
    r"(addressed( to|,)|error-for:|generated from|userid:|undeliverable to)"
    r"\s*['\"<(]?$",
    re.I,
)
_SMTP_PREFIX_RE = re.compile(r"^(smtp|rfc822|sip|mailto)[=:]", re.I)
_REPLY_LEAD_RE = re.compile(r"^\s*[<>#(]*\s*[245]\d\d[\s-]")
_MAX_DIAGNOSTIC_LINES = 6
_GENERATED_RE = re.compile(r"\(?\s*generated from\s*<?$", re.I)
# Exim's "A message sent by\n\n  <sender>\n\ncould not be delivered": a line
# ending so, above an address standing alone, names the sender.
_SENDER_LINE_END_RE = re.compile(r"\b(sent|written|submitted) by\s*:?\s*$", re.I)
# "a@x <b@y>": the first is a display name shaped like an address.
_NAME_OF_PAIR_RE = re.compile(r"\s*<[^<>\s]+@")
# Explanatory text naming where to get help: that address is no recipient.
_HELP_BEFORE_RE = re.compile(
    r"\b(contact|write to|e-?mail us|reach us|ask|help ?desk|support|assistance"
    r"|questions?|administrator|please (e-?mail|send|forward|write)|send (an )?"
    r"e-?mail to|forward (this|it) to|report (this|it) to|complaints? to)"
    r"\b[^@]{0,60}$",
    re.I,
)
_ID_BEFORE_RE = re.compile(r"\bid\s*<?$", re.I)


@dataclass(frozen=True)
class Failure:
    """One failed address found in bounce text, with its explanation."""

    address: str
    diagnostic: str | None
    is_delayed: bool
    original: str | None = None


def has_bounce_sender(msg: Message) -> bool:
    """True when From or Return-Path look like an automatic notice."""
    return_path = parse.header(msg, "Return-Path") or ""
    sender = f"{parse.header(msg, 'From') or ''} {return_path}"
    return bool(BOUNCE_SENDER_RE.search(sender)) or return_path.strip() in (
        "<>",
        "<MAILER-DAEMON>",
    )


def has_bounce_subject(msg: Message) -> bool:
    return bool(BOUNCE_SUBJECT_RE.search((parse.header(msg, "Subject") or "").lower()))


def cut_original(text: str) -> str:
    """Return the notification part of ``text``, before the quoted original."""
    for match in _CUT_AFTER_NEWLINE_RE.finditer(text):
        line = match.start() + 1
        # A marker before any notice text is a heading, not the end of it.
        if text[:line].strip():
            return text[:line]
    return text


class Notice:
    """The text of one notification and what the readers derive from it.

    Each property is worked out at most once per message, on first use, so
    the readers can ask freely without passing results around.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._originals: dict[str, str] = {}

    @cached_property
    def body(self) -> str:
        """The text before the quoted original message."""
        return cut_original(self.text)

    @cached_property
    def lines(self) -> tuple[str, ...]:
        return tuple(self.body.split("\n"))

    @cached_property
    def lowered(self) -> str:
        """The start of ``body``, lowercased, for the whole-notice tests."""
        return self.body[:20000].lower()

    @cached_property
    def flags(self) -> list[int | None]:
        """``_line_flag`` of each line, filled in as lines are looked at."""
        return [None] * len(self.lines)

    def flag(self, index: int) -> int:
        flag = self.flags[index]
        if flag is None:
            flag = self.flags[index] = _line_flag(self.lines[index])
        return flag

    @cached_property
    def candidates(self) -> dict[str, list[str]]:
        """Strongly placed addresses, with the lines that explain them."""
        return _all_candidates(self)

    @cached_property
    def originals(self) -> dict[str, str]:
        """Failed address -> the address it was generated from (Exim)."""
        self.candidates  # noqa: B018 - filled in while the candidates are found
        return self._originals

    @cached_property
    def global_diagnostic(self) -> str | None:
        return _global_diagnostic(self.lines)

    @cached_property
    def is_warning(self) -> bool:
        """True when the notice only warns of a delay (nothing failed yet)."""
        notice = self.lowered
        if _SURE_WARNING_RE.search(notice) and not _GAVE_UP_RE.search(notice):
            return True
        return bool(_WARNING_RE.search(notice)) and not _FATAL_RE.search(notice)


def _is_message_id(address: str, line: str, start: int) -> bool:
    local = address.split("@", 1)[0]
    if "message-id" in line.lower() or _ID_BEFORE_RE.search(line[:start]):
        return True
    digits = sum(map(str.isdigit, local))
    return bool(_MESSAGE_ID_LOCAL_RE.match(local)) and digits * 3 >= len(local)


def _usable(address: str, exclude: set[str] | frozenset[str]) -> bool:
    local = address.split("@", 1)[0]
    return address not in exclude and not _IGNORED_LOCAL_RE.match(local)


def _starts_entry(line: str) -> bool:
    """True when ``line`` names an address of its own (a new entry)."""
    # Both patterns need an "@"; checking first skips most lines cheaply.
    return "@" in line and bool(
        _ADDRESS_ONLY_RE.match(line) or _ADDRESS_LEAD_RE.match(line)
    )


def _block_after(lines: tuple[str, ...], index: int) -> list[str]:
    """Lines explaining the address on ``lines[index]``: up to a blank line."""
    block = []
    for line in lines[index + 1 : index + 1 + _MAX_DIAGNOSTIC_LINES]:
        if not line.strip() or _starts_entry(line):
            break
        block.append(line.strip())
    return block


def _heading_above(notice: Notice, index: int) -> bool:
    """True when a recipients heading appears within a few lines above."""
    flags = [notice.flag(i) for i in range(max(0, index - 8), index)]
    return 2 in flags or any(flags[-2:])


def _line_flag(line: str) -> int:
    """2 for a recipients heading, 1 for a failure sentence, else 0."""
    lowered = line.lower()
    if _HEADING_RE.search(lowered):
        return 2
    return 1 if FAILURE_TEXT_RE.search(lowered) else 0


def _all_candidates(notice: Notice) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    notice._originals = {}
    last: str | None = None
    for index, line in enumerate(notice.lines):
        if "@" not in line or _HEADERISH_RE.match(line):
            continue
        for match in parse.ADDRESS_RE.finditer(line):
            # "'a@b'": a quote opening a local part is the text's quoting.
            address = _SMTP_PREFIX_RE.sub("", match.group(1).lower()).lstrip("'")
            if _GENERATED_RE.search(line[: match.start()]) and (
                last or _address_like_above(notice.lines, index)
            ):
                # Exim names the alias a failed address came from: it is
                # the address the sender wrote, not another failure (even
                # when the failed address above could not be read; with
                # none above, the alias is all the notice names).
                if last:
                    notice._originals.setdefault(last, address)
                continue
            if (
                _NAME_OF_PAIR_RE.match(line, match.end())
                or not _plausible(address, line, match.start())
                or _sender_named_above(notice.lines, index, line)
            ):
                continue
            explanation = _explain(notice, index, match, address)
            if explanation is not None:
                known = found.setdefault(address, [])
                known.extend(e for e in explanation if e and e not in known)
                last = address
    return found


def _plausible(address: str, line: str, start: int) -> bool:
    """False for addresses in URLs, sender mentions, help desks, message ids,
    robots."""
    before = line[:start]
    if (
        _URL_BEFORE_RE.search(before)
        or _SENDER_BEFORE_RE.search(before)
        or _HELP_BEFORE_RE.search(before)
    ):
        return False
    return _usable(address, frozenset()) and not _is_message_id(address, line, start)


def _explain(
    notice: Notice, index: int, match: re.Match[str], address: str
) -> list[str] | None:
    """The lines explaining an address placed like a failed recipient, or None."""
    lines = notice.lines
    line = lines[index]
    lead = _ADDRESS_LEAD_RE.match(line) or _COLON_LEAD_RE.match(line)
    if lead and _SMTP_PREFIX_RE.sub("", lead.group("addr").lower()) == address:
        return [lead.group("rest"), *_block_after(lines, index)]
    rest = line.strip() if _has_more_than(line, match.group(1)) else ""
    if (
        _ADDRESS_ONLY_RE.match(line)
        or _heading_above(notice, index)
        or _HEADING_RE.search(line[: match.start()].lower())
        or _LEAD_IN_RE.search(line[: match.start()])
        or _REPLY_LEAD_RE.match(line)
        or status.match_reason(line)
        or status.find_status(line)
        or FAILURE_TEXT_RE.search(line.lower())
    ):
        return [rest, *_block_after(lines, index)]
    return None


def _address_like_above(lines: tuple[str, ...], index: int) -> bool:
    """True when the nearest line above with text holds an "@"."""
    for above in reversed(lines[max(0, index - 3) : index]):
        if above.strip():
            return "@" in above
    return False


def _sender_named_above(lines: tuple[str, ...], index: int, line: str) -> bool:
    """True when ``line`` holds only an address and the nearest line above
    with text ends by introducing the sender ("A message sent by")."""
    if not _ADDRESS_ONLY_RE.match(line):
        return False
    for above in reversed(lines[max(0, index - 3) : index]):
        if above.strip():
            return bool(_SENDER_LINE_END_RE.search(above))
    return False


def _has_more_than(line: str, address: str) -> bool:
    """True when ``line`` says something besides the address itself."""
    rest = line.replace(address, " ")
    return sum(map(str.isalnum, rest)) > 3


def _evidence(lines: tuple[str, ...], address: str) -> str | None:
    """A line elsewhere that mentions ``address`` with an SMTP reply."""
    for line in lines:
        # No line without an "@" holds the address: lowercasing cannot make one.
        if (
            "@" in line
            and address in line.lower()
            and (status.find_status(line) or status.find_reply_code(line))
        ):
            return line
    return None


def _global_diagnostic(lines: tuple[str, ...]) -> str | None:
    """The first line that states a reason (for formats listing it once)."""
    # Every header-like line has a colon.
    usable = [
        line
        for line in lines
        if (":" not in line or not _HEADERISH_RE.match(line))
        and not reasons.is_scanning_banner(line)
    ]
    for test in (status.find_status, _REPLY_LEAD_RE.match, status.match_reason):
        for line in usable:
            if test(line):
                return line.strip()
    return None


def _diagnostic_for(
    explanation: list[str], notice: Notice, address: str, use_global: bool
) -> str | None:
    text = " ".join(explanation)
    if status.find_status(text) or status.find_reply_code(text):
        return parse.squash(text) or None
    evidence = _evidence(notice.lines, address)
    if evidence and evidence.strip() not in text:
        return parse.squash(f"{text} {evidence}") or None
    if text and status.match_reason(text):
        return parse.squash(text)
    fallback = notice.global_diagnostic if use_global else None
    return parse.squash(fallback or text) or None


def diagnostic_near(notice: Notice, address: str) -> str | None:
    """Explanation of ``address`` in the notice (to complete a terse DSN)."""
    found = notice.candidates.get(address)
    if found is None:
        return None
    return _diagnostic_for(found, notice, address, use_global=False)


def find_failures(
    notice: Notice, *, exclude: set[str], extra: list[str] | None = None
) -> list[Failure]:
    """Return the failed addresses a bounce's text names, with explanations.

    ``exclude`` holds addresses that cannot be the failed recipient (the
    notice's sender and addressee, the original's sender); ``extra`` holds
    addresses known from headers such as Exim's ``X-Failed-Recipients``.
    """
    found = {a: e for a, e in notice.candidates.items() if _usable(a, exclude)}
    for address in extra or ():
        found.setdefault(address, [])
    return [
        Failure(
            address,
            _diagnostic_for(explanation, notice, address, use_global=True),
            notice.is_warning,
            notice.originals.get(address),
        )
        for address, explanation in found.items()
    ]


def has_failure_text(notice: Notice) -> bool:
    """True when the notice reads like a delivery failure or delay notice."""
    return bool(FAILURE_TEXT_RE.search(notice.lowered))
