"""The complainant's own words in a report filed on the public web form.

The form stores a report as a message whose first text part is what the person
wrote, followed (when pasted headers could not be read) by a marker line and
those headers. Pure: bytes in, text out.
"""

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
