"""Display helpers for text that hostile senders control."""

import re

from django import template

from complaints.ingest.reasons import DESCRIPTIONS

register = template.Library()

# Bidirectional overrides and isolates can make "gpj.exe" read as "exe.jpg" and
# reorder a whole line; zero-width characters hide text. Shown as visible escapes
# so staff read exactly what was sent (Unicode TR #9, CVE-2021-42574).
_INVISIBLE = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)


@register.filter
def reveal_controls(value) -> str:
    """Replace control, bidi and zero-width characters with ``<U+XXXX>`` markers.
    The result is still autoescaped by the template."""
    if value is None:
        return ""
    return _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", str(value))


@register.filter
def reason_words(value) -> str:
    """A bounce reason class in words ("user_unknown" -> "address does not
    exist")."""
    return DESCRIPTIONS.get(value, value or "unclassified")
