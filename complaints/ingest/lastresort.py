"""Last-resort readers for bounces that name the failed recipient oddly.

Consulted only when ``nonstandard.find_failures`` found no address in a
notice that is certainly a bounce. Two shapes remain common in real mail:

* the notice summarises the returned message, and the failed recipient is
  only its ``To:`` line (qmail-style Yahoo notices: "I'm afraid I wasn't
  able to deliver the following message ... To: user@example.com");
* the notice lists a bare local part under its heading, the domain being the
  reporting system's own (AOL's "could not be delivered because they are not
  accepting mail from ...:" followed by the screen name alone).

* the notice names no address at all ("Your message could not be
  delivered: 550 5.1.1 Recipient unknown"), and only the returned message
  says whom it was for: its envelope recipient (``X-Original-To``,
  ``Delivered-To``) or, failing that, its only ``To:``/``Cc:`` address.

All are guesses a stricter reader would refuse, so they run last.
"""

from __future__ import annotations

import re
from email.message import Message

from . import parse
from .nonstandard import FAILURE_TEXT_RE, Notice

# A summary line naming the returned message's addressee.
_TO_LINE_RE = re.compile(r"^[ \t]*to:[ \t]*(?P<rest>.+)$", re.I | re.M)
# A line holding nothing but a local part (RFC 5321 section 4.1.2 dot-atom).
_BARE_LOCAL_RE = re.compile(r"^[ \t]+(?P<local>[A-Za-z0-9][\w.+-]{0,63})[ \t]*$")
# A heading announcing the list of recipients, ending with a colon.
_LIST_HEADING_RE = re.compile(r"following (recipients?|address(es)?|users?)\b.*:\s*$")
# Lines of the heading paragraph searched for its "following ..." phrase.
_HEADING_SPAN = 3


def summary_addressee(notice: Notice, exclude: set[str]) -> list[str]:
    """The one addressee of the ``To:`` line summarising the returned message."""
    if not FAILURE_TEXT_RE.search(notice.lowered):
        return []
    found: list[str] = []
    for match in _TO_LINE_RE.finditer(notice.body):
        for address in parse.addresses_in(match.group("rest")):
            if address not in exclude and address not in found:
                found.append(address)
    # Several "To:" lines are a quoted conversation, not a summary.
    return found if len(found) == 1 else []


def bare_local_parts(notice: Notice, domain: str | None) -> list[str]:
    """Local parts listed alone under a recipients heading, at ``domain``."""
    if not domain:
        return []
    lines = notice.lines
    found: list[str] = []
    for index, line in enumerate(lines):
        match = _BARE_LOCAL_RE.match(line)
        if match is None or index == 0:
            continue
        heading = " ".join(lines[max(0, index - _HEADING_SPAN) : index]).lower()
        if _LIST_HEADING_RE.search(heading):
            address = f"{match.group('local').lower()}@{domain}"
            if address not in found:
                found.append(address)
    return found


def sender_domain(from_header: str | None) -> str | None:
    """The domain of the notice's sender: where a bare local part lives."""
    address = parse.clean_address(from_header or "")
    return address.rsplit("@", 1)[1] if address and "@" in address else None


# Envelope recipients recorded by the receiving system (Postfix, Exim,
# Sendmail), then the addressees the sender wrote.
_ENVELOPE_HEADERS = ("X-Original-To", "Delivered-To", "Envelope-To")
_ADDRESSEE_HEADERS = ("To", "Cc")
# The "for <address>" clause of a Received header (RFC 5321 section 4.4),
# which MTAs write only when the message has one envelope recipient.
_RECEIVED_FOR_RE = re.compile(r"\bfor\s+<?([^\s<>;]+@[^\s<>;]+)>?", re.I)
# List mail (RFC 2369, RFC 2919): its envelope and To: headers name the
# list, never the subscriber whose copy failed.
_LIST_HEADERS = ("List-Id", "List-Post", "X-BeenThere", "X-Mailman-Version")


def original_addressee(headers: Message | None, exclude: set[str]) -> list[str]:
    """The one recipient of the returned message, or nothing when unsure."""
    if headers is None or any(parse.header(headers, n) for n in _LIST_HEADERS):
        return []
    received = parse.header(headers, "Received") or ""
    match = _RECEIVED_FOR_RE.search(received)
    candidates = [match.group(1)] if match else []
    for names in (_ENVELOPE_HEADERS, _ADDRESSEE_HEADERS):
        candidates.append(
            " ".join(v for n in names for v in parse.header_all(headers, n))
        )
    for text in candidates:
        found = [a for a in parse.addresses_in(text) if a not in exclude]
        if found:
            # A message to several people does not say which one failed.
            return found if len(found) == 1 else []
    return []
