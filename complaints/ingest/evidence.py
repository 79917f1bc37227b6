"""What a complaint written as prose names when it carries no message: the one
address the abuse came from, and when it was seen.

Blocklist operators, honeypots and people write "The address 198.51.100.7 has
been listed ... Last observed: 2026-09-16 12:22:04 UTC". Linking can resolve
such an address through the IP assignments only with the time it was seen, so
both are read here. Pure: no ORM, no settings.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# As ``received._IPV4_RE``: a digit first, then what precedes it.
_IPV4_RE = re.compile(r"(\d(?<![\d.]\d)\d{0,2}(?:\.\d{1,3}){3})(?![\d.])")
_IPV6_RE = re.compile(
    r"(?<![\w:])((?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}(?::[0-9a-f]{1,4})*)(?![\w:])",
    re.I,
)
_SEEN_RE = re.compile(
    r"(?:observed|seen|detected|listed|time|date|timestamp|when|at)\b[^:\n]{0,30}:"
    r"[ \t]*([^\n]{8,60})",
    re.I,
)
_SCAN_CHARS = 10_000


@dataclass(frozen=True)
class NamedSource:
    address: str
    seen: str | None


def named_source(text: str) -> NamedSource | None:
    """The single public address the text names, with the time it was seen; None
    when it names none or several (then nothing says which one is meant)."""
    head = text[:_SCAN_CHARS]
    found = set()
    for match in (*_IPV4_RE.finditer(head), *_IPV6_RE.finditer(head)):
        try:
            ip = ipaddress.ip_address(match.group(1))
        except ValueError:
            continue
        if ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast:
            continue
        found.add(str(ip))
    if len(found) != 1:
        return None
    seen = _SEEN_RE.search(head)
    return NamedSource(
        address=found.pop(), seen=seen.group(1).strip() if seen else None
    )
