"""The complainant's own words in a report filed on the public web form.

The form stores a report as a message whose first text part is what the person
wrote, followed (when pasted headers could not be read) by a marker line and
those headers. Pure: bytes in, text out.
"""

import re
from email import message_from_bytes, policy

# The line the form puts between the complainant's words and unreadable headers
# (complaints/services/public_reports.py).
HEADERS_MARKER = "\n-- The headers below were given with the report"
MAX_WORDS_CHARS = 10_000


def complainant_words(raw: bytes) -> str:
    """The first text/plain part, up to the marker; empty when there is none."""
    try:
        message = message_from_bytes(raw, policy=policy.default)
        part = message.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
    except (LookupError, ValueError, TypeError, AttributeError):
        return ""
    text = text.replace("\r\n", "\n").split(HEADERS_MARKER, 1)[0]
    return text.strip()[:MAX_WORDS_CHARS]


# A header line: a field name of printable ASCII without spaces, then a colon
# (RFC 5322 section 2.2).
_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*:", re.M)
# Control bytes other than tab, line feed and carriage return: binary data.
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
WITHOUT_EVIDENCE_HEADER = "X-Abuse-Desk-Evidence"
WITHOUT_EVIDENCE = "none"


def not_mail_because(data: bytes) -> str | None:
    """Why what a person gave is no email message at all (binary data, or not
    one header line), or None when it is mail, however damaged."""
    head = data[:65536]
    if _BINARY.search(head):
        return "it is binary data, not the text of a message"
    if not _HEADER_LINE.search(head):
        return "it has no header lines (such as “From:”, “Received:” or “Subject:”)"
    return None
