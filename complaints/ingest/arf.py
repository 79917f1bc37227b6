"""Complaints: feedback-loop reports, forwarded spam and human-written text.

Owns three ways a complaint arrives:

* an RFC 5965 Abuse Reporting Format report (``multipart/report;
  report-type=feedback-report``), tolerating the usual breakage: the
  machine-readable part sent as ``text/plain``, a missing report-type, the
  original as ``text/plain`` or ``text/rfc822-headers`` (RFC 6650 section 4
  allows headers only);
* a person forwarding the spam as a ``message/rfc822`` attachment or inline
  ("Forwarded message" block);
* a person pasting the spam's headers into the body, or only complaining.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from . import parse

FEEDBACK_TYPES = frozenset(
    {"abuse", "fraud", "virus", "other", "not-spam", "auth-failure", "dmarc"}
)
# RFC 5965 section 3.1 field names, lowercased.
_FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,60})[ \t]*:[ \t]*(.*)$")
_FEEDBACK_TYPE_LINE = re.compile(r"^feedback-type[ \t]*:[ \t]*([\w-]+)", re.I | re.M)
_HEADER_LINE = re.compile(r"^[ \t]*>?[ \t]*([A-Za-z][A-Za-z0-9-]{1,40}):[ \t]?(.*)$")
_QUOTE_PREFIX = re.compile(r"^[ \t]*>[ \t]?")
_CONTINUATION = re.compile(r"^[ \t>]*[ \t]+\S")
# Headers a pasted block must contain for it to be the reported message.
_KEY_HEADERS = frozenset({"received", "message-id", "return-path", "dkim-signature"})
_IDENTITY_HEADERS = frozenset({"from", "subject", "date", "to", "message-id"})
_FORWARD_MARK_RE = re.compile(
    r"^[ \t>]*-{2,}[ \t]*(forwarded message|original message|weitergeleitete"
    r" nachricht|ursprüngliche nachricht|message transféré|message d'origine"
    r"|mensaje reenviado|mensaje original|messaggio inoltrato|messaggio originale"
    r"|doorgestuurd bericht|oorspronkelijk bericht|vidarebefordrat meddelande"
    r"|mensagem encaminhada|wiadomość przekazana|begin forwarded message)"
    r"|^[ \t>]*begin forwarded message:",
    re.I | re.M,
)
# Complaint words, matched in lowercased text. Those that must begin a word
# (group ``word``) are matched without a leading ``\b`` and checked after it:
# a ``\b`` opening a branch keeps ``re`` from skipping ahead to the letters a
# match can begin with, and the search then cost ~0.2 µs a character.
COMPLAINT_WORDS_RE = re.compile(
    r"(?P<word>spam|abuse|junk ?mail|scam|uce\b|ube\b)"
    r"|unsolicited|phishing|fraud"
    r"|unsubscribe|stop (sending|emailing|mailing)|remove me|harass|never"
    r" (signed|subscribed|opted)|did not (sign|subscribe|opt)|didn'?t (sign|subscribe"
    r"|opt)|illegal|report(ing)? (this|a) (message|email)"
    r"|complain|blacklist|blocklist|opt[- ]?out|consent|gdpr|can-spam"
)
# Feedback loops that send a bare ``message/rfc822`` without ARF fields.
_FBL_SENDER_RE = re.compile(
    r"^(scomp|fbl|feedback|feedbackloop|arf|complaints?|staff|abuse-?report|jmrp"
    r"|junkmail|report)[-_.\w]*@",
    re.I,
)


@dataclass(frozen=True)
class FeedbackReport:
    """The machine-readable fields of an ARF report, keys lowercased."""

    fields: dict[str, list[str]]

    @property
    def feedback_type(self) -> str:
        value = (self.fields.get("feedback-type") or ["abuse"])[0]
        return value.strip().lower().split()[0] if value.strip() else "abuse"

    @property
    def user_agent(self) -> str | None:
        values = self.fields.get("user-agent")
        return values[0].strip() if values and values[0].strip() else None


def _fields_from_text(text: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    last: str | None = None
    for line in text.split("\n"):
        if line[:1] in (" ", "\t") and last and line.strip():
            fields[last][-1] += " " + line.strip()
            continue
        match = _FIELD_RE.match(line)
        if match:
            last = match.group(1).lower()
            fields.setdefault(last, []).append(match.group(2).strip())
    return fields


def _fields_from_part(part: Message) -> dict[str, list[str]]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        fields: dict[str, list[str]] = {}
        for block in payload:
            if isinstance(block, Message):
                for key, value in block.raw_items():
                    fields.setdefault(key.lower(), []).append(
                        parse.decode_header_value(value)
                    )
                # Fields after a stray blank line land in the block's body.
                body = "" if block.is_multipart() else parse.part_text(block)
                if body.strip():
                    for key, values in _fields_from_text(body).items():
                        fields.setdefault(key, []).extend(values)
        if fields:
            return fields
    return _fields_from_text(parse.part_text(part))


def is_feedback_report(msg: Message) -> bool:
    """True when ``msg`` declares itself an ARF report (RFC 5965 section 2)."""
    if parse.content_type(msg) != "multipart/report":
        return False
    return (parse.content_param(msg, "report-type") or "").lower() == "feedback-report"


def read_feedback_report(msg: Message) -> FeedbackReport | None:
    """Return the ARF fields of ``msg``, looking past wrong content types."""
    candidates = []
    for part in parse.walk_shallow(msg):
        ctype = parse.content_type(part)
        if ctype == "message/feedback-report":
            return FeedbackReport(_fields_from_part(part))
        if part.is_multipart():
            continue
        if ctype.startswith("text/") or ctype == "application/octet-stream":
            candidates.append(part)
    for part in candidates:
        text = parse.part_text(part, limit=20000)
        # A plain substring test rules out most parts far faster than the
        # case-insensitive, line-anchored regex can.
        match = "feedback-type" in text.lower() and _FEEDBACK_TYPE_LINE.search(text)
        if match:
            return FeedbackReport(_fields_from_text(text[match.start() :]))
    return None


_NOTHING = Message()


def reported_message(msg: Message) -> Message | None:
    """The reported message (or its headers) attached to ``msg`` (cached)."""
    cached = getattr(msg, "_ingest_reported", None)
    if cached is None:
        cached = _NOTHING
        for part in parse.attached_messages(msg):
            inner = parse.attached_message(part)
            if inner is not None:
                cached = inner
                break
        msg._ingest_reported = cached  # type: ignore[attr-defined]
    return None if cached is _NOTHING else cached


def inline_reported_message(msg: Message) -> Message | None:
    """A reported message sent as ``text/plain`` (a common ARF breakage)."""
    parts = [p for p in parse.walk_shallow(msg) if not p.is_multipart()]
    for part in parts[1:]:
        if parse.content_type(part) not in ("text/plain", "application/octet-stream"):
            continue
        text = parse.part_text(part)
        if _FEEDBACK_TYPE_LINE.search(text):
            continue
        headers = find_pasted_headers(text)
        if headers is not None:
            return headers
    return None


def _header_blocks(lines: list[str]) -> list[list[str]]:
    """Runs of consecutive header-looking lines, continuations attached.

    Pasted headers often lose the indent of their folded lines ("(Authenticated
    sender: x)" and "by relay..." of a Received at the start of a line). A line
    that is neither a header nor indented still continues the header above it
    when another header line follows before the next blank line: prose after a
    header block is separated from it by a blank line, or has no header after it.
    A MIME delimiter ("--boundary", RFC 2046 section 5.1.1) never continues one.
    """
    blocks: list[list[str]] = []
    current: list[str] = []
    padded = [*lines, ""]
    for number, line in enumerate(padded):
        match = _HEADER_LINE.match(line) if ":" in line else None  # _header_line
        if match:
            current.append(f"{match.group(1)}: {match.group(2)}")
        elif current and (
            _CONTINUATION.match(line)
            or (not line.startswith("--") and _header_follows(padded, number + 1))
        ):
            current[-1] += " " + line.strip()
        elif current:
            blocks.append(current)
            current = []
    return blocks


_UNFOLDED_LOOKAHEAD = 6


def _header_follows(lines: list[str], start: int) -> bool:
    """Whether a header line comes within a few lines, before any blank line."""
    for line in lines[start : start + _UNFOLDED_LOOKAHEAD]:
        if not line.strip():
            return False
        if _header_line(line):
            return True
    return False


def _header_line(line: str) -> re.Match[str] | None:
    """``_HEADER_LINE.match(line)``; a line without a colon is none (most
    lines of a quoted message are body text)."""
    return _HEADER_LINE.match(line) if ":" in line else None


def _unquote(line: str) -> str:
    # Without a ">" there is no quote mark to take off.
    return _QUOTE_PREFIX.sub("", line) if ">" in line else line


# The header labels mail clients write above a forwarded message in their own
# language (German, French, Spanish, Portuguese, Italian, Dutch, Swedish,
# Polish), read as the English fields they stand for.
_LOCAL_LABELS = {
    "From": "von|de|da|van|från|od|expéditeur|remitente",
    "To": "an|à|a|para|aan|till|do|destinataire|destinatario|empfänger",
    "Subject": "betreff|objet|asunto|oggetto|onderwerp|ämne|temat|assunto",
    "Date": "datum|fecha|data|gesendet|envoyé|enviado|inviato|verzonden|skickat"
    "|wysłano|sent",
}
_LOCAL_LABEL_RE = re.compile(
    r"^[ \t]*(?:(?P<From>"
    + _LOCAL_LABELS["From"]
    + r")|(?P<To>"
    + _LOCAL_LABELS["To"]
    + r")|(?P<Subject>"
    + _LOCAL_LABELS["Subject"]
    + r")|(?P<Date>"
    + _LOCAL_LABELS["Date"]
    + r"))[ \t\u00a0]*:[ \t]*(?=\S)",
    re.I,
)


def _localised(line: str) -> str:
    if ":" not in line:
        return line  # every label ends with one
    match = _LOCAL_LABEL_RE.match(line)
    if not match:
        return line
    return f"{match.lastgroup}: {line[match.end() :]}"


def find_pasted_headers(text: str) -> Message | None:
    """Find a pasted header block (the reported message) in free text."""
    # A line with neither a quote mark nor a colon is left as it is by both
    # rewrites: most lines of a notice are such prose, and skip two calls.
    lines = [
        _localised(_unquote(line)) if ">" in line or ":" in line else line
        for line in text.split("\n")[:3000]
    ]
    best: Message | None = None
    best_score = 0
    for block in _header_blocks(lines):
        headers = parse.parse_header_block("\n".join(block) + "\n")
        names = {key.lower() for key in headers.keys()}
        score = len(names & _KEY_HEADERS) * 2 + len(names & _IDENTITY_HEADERS)
        if (names & _KEY_HEADERS or len(names & _IDENTITY_HEADERS) >= 3) and (
            score > best_score
        ):
            best, best_score = headers, score
    return best


def has_trace_headers(headers: Message) -> bool:
    """True when a header block has Received/Message-ID style headers."""
    return bool({key.lower() for key in headers.keys()} & _KEY_HEADERS)


def is_forwarded_inline(text: str) -> bool:
    return bool(_FORWARD_MARK_RE.search(text))


def looks_like_complaint(text: str) -> bool:
    """True when free text complains about unwanted mail.

    Header lines and addresses are ignored: "abuse@..." is not a complaint.
    """
    prose = "\n".join(
        line for line in text[:20000].split("\n") if not _header_line(line)
    )
    return says_complaint_words(parse.ADDRESS_RE.sub(" ", prose).lower())


def says_complaint_words(lowered: str) -> bool:
    """True when lowercased ``lowered`` holds a complaint word (those of
    group ``word`` only at the start of a word)."""
    match = COMPLAINT_WORDS_RE.search(lowered)
    while match is not None:
        at = match.start()
        if match.group("word") is None or at == 0 or not _is_word_char(lowered[at - 1]):
            return True
        match = COMPLAINT_WORDS_RE.search(lowered, at + 1)
    return False


def _is_word_char(char: str) -> bool:
    """What ``\\w`` matches."""
    return char.isalnum() or char == "_"


def is_feedback_loop_sender(address: str | None) -> bool:
    return bool(address and _FBL_SENDER_RE.match(address))
