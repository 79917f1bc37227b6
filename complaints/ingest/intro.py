"""When a message forwarded or quoted inline was sent, as its mail client wrote it.

A person forwarding spam inline rarely keeps a ``Date:`` header: the client
writes a label line ("Sent: Friday, September 4, 2026 1:58 PM", "Gesendet:",
"Envoyé :") or an attribution line ("On Fri, Sep 4, 2026 at 1:53 PM X
wrote:", "Am 04.09.2026 um 13:53 schrieb X:", "Le ven. 4 sept. 2026 à 13:53,
X a écrit :"). This module finds that text; ``complaints.linking.dates`` reads
the date in it. Pure: no ORM, no settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import parse

# Header-like labels mail clients put above a forwarded message, in the
# languages the desk meets most (English, German, French, Spanish, Italian,
# Dutch, Portuguese, Swedish, Polish).
_LABEL_RE = re.compile(
    r"^[ \t>*]*(?:date|sent|gesendet|datum|envoy[ée]|date d'envoi|enviado(?: el)?"
    r"|fecha|inviato|data|verzonden|skickat|wys[łl]ano)[ \t]*:[ \t]*(.{6,80}?)[ \t]*$",
    re.I | re.M,
)
# Attribution lines: "<lead> <date> <author> <verb>". The date is what lies
# between the lead word and the verb; the reader ignores the author's name.
_ATTRIBUTION_RE = re.compile(
    r"^[ \t>]*(?:on|am|le|el|il(?: giorno)?|op|den|em|w dniu)[ \t]+(.{6,160}?)"
    r"[ \t,]*(?:wrote|schrieb|a [ée]crit|escribi[óo]|ha scritto|schreef|skrev"
    r"|escreveu|napisa[łl](?:\(a\))?)[ \t]*:?[ \t]*$",
    re.I | re.M,
)
# German, Dutch and Scandinavian clients put the verb before the author:
# "Am 04.09.2026 um 13:53 schrieb Shop <news@shop.example>:".
_VERB_FIRST_RE = re.compile(
    r"^[ \t>]*(?:am|op|den)[ \t]+(.{6,80}?)[ \t]+(?:schrieb|schreef|skrev)"
    r"[ \t]+(.{1,160}?)[ \t]*:?[ \t]*$",
    re.I | re.M,
)
_SCAN_CHARS = 20_000


def forward_date_text(text: str) -> str | None:
    """The date text of the first forward label or attribution line, or None."""
    head = text[:_SCAN_CHARS]
    found = [
        m
        for m in (
            _LABEL_RE.search(head),
            _ATTRIBUTION_RE.search(head),
            _VERB_FIRST_RE.search(head),
        )
        if m
    ]
    if not found:
        return None
    first = min(found, key=lambda match: match.start())
    return first.group(1).strip() or None


@dataclass(frozen=True)
class Attribution:
    """A reply's attribution line: when the quoted message was sent, by whom."""

    date_text: str
    sender: str
    name: str


def quoted_sender(text: str) -> Attribution | None:
    """The sender and date of the message a reply quotes, from its attribution
    line ("Am 27.08.2026 um 03:47 schrieb Shop <news@shop.example>:")."""
    head = text[:_SCAN_CHARS]
    verb_first = _VERB_FIRST_RE.search(head)
    verb_last = _ATTRIBUTION_RE.search(head)
    name = ""
    if verb_first and (not verb_last or verb_first.start() <= verb_last.start()):
        date_text, author = verb_first.group(1), verb_first.group(2)
        address = parse.ADDRESS_RE.search(author)
        if address:
            name = author[: address.start()]
    elif verb_last:
        # "On <date>, <name> <address> wrote:": the date text carries the name.
        date_text = author = verb_last.group(1)
        address = parse.ADDRESS_RE.search(author)
    else:
        return None
    if not address:
        return None
    return Attribution(
        date_text=date_text.strip(),
        sender=address.group(1),
        name=name.strip(" <,(\"'"),
    )
