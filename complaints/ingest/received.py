"""One ``Received`` header (RFC 5321 section 4.4) read into a ``Hop``.

Owns the facts a trace line states: who connected (HELO name, reverse-DNS
name, client address), who received (the ``by`` host), the authenticated login
if the receiving server recorded one, its queue id, and its own timestamp,
the clock of the server that wrote the line. Which hops are trustworthy, and
whose they are, is decided by ``complaints.linking``; this module only reads.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

from .report import Hop

# "by" opening the text or after a space or ")". The look-behind comes after
# the literal so that the search skips to each "by" instead of trying a
# start at every character (three times faster on a long trace line).
_BY_RE = re.compile(r"by(?<![^\s)]by)\s+([^\s;()\[\]]+)", re.I)
_FROM_RE = re.compile(r"^\s*from\s+([^\s;()]+)", re.I)
# Patterns here open with a character and check what comes before it in a
# look-behind after it, instead of a leading look-behind or ``\b``: ``re``
# then skips to each place the character occurs instead of trying every
# position (two to three times faster on trace lines, the same matches).
# Four dotted digit groups not inside a longer run of digits and dots.
_IPV4_RE = re.compile(r"(\d(?<![\d.]\d)\d{0,2}(?:\.\d{1,3}){3})(?![\d.])")
_IPV4_TEXT_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
# IPv6 as MTAs write it: bracketed, often with an "IPv6:" tag (Postfix, Exim,
# RFC 5321 address literals), or bare in parentheses (Microsoft's servers).
_IPV6_BRACKET_RE = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)\]", re.I)
_IPV6_PAREN_RE = re.compile(r"\(([0-9A-Fa-f]*:[0-9A-Fa-f:.]+)\)")
# "(name [address])": the reverse-DNS name the receiving server looked up.
_RDNS_RE = re.compile(r"\(\s*([A-Za-z0-9][\w.\-]*\.[A-Za-z][\w\-]*)\.?\s*\[")
# Authenticated submission as the common MTAs record it: Postfix
# "(Authenticated sender: x)", Exim/cPanel "authenticated as x" and "auth=x",
# Courier "(AUTH: LOGIN x, ...)", Sendmail "(authenticated as x)", webmail
# "(user=x)", and Authentication-Results "smtp.auth=x" (RFC 8601 section 2.7.4).
_LOGIN_RES = tuple(
    re.compile(p, re.I)
    for p in (
        r"\(authenticated sender:\s*([^)\s]+)\s*\)",
        r"authenticated (?:as|user|by)\s+<?([^\s;)>]+)",
        r"\bauth(?:id)?=([^\s;)]+)",
        r"\(AUTH:\s*\w+\s+([^,\s)]+)",
        r"smtp\.auth=([^\s;)]+)",
        r"\(user=([^\s;)]+)\)",
    )
)
_NOT_A_LOGIN = frozenset({"none", "no", "pass", "fail", "yes", "bits=0"})
# "id" and "with" at a word start.
QUEUE_ID_RE = re.compile(r"i(?<!\wi)d\s+<?([A-Za-z0-9][\w.\-]{4,80})>?", re.I)
_WITH_RE = re.compile(r"w(?<!\ww)ith\s+([A-Za-z0-9][\w/.\-]*)", re.I)


def is_ipv4_text(text: str) -> bool:
    """Whether ``ipaddress`` reads ``text`` (four dotted digit groups, as
    ``_IPV4_RE`` finds them) as an IPv4 address, which it then writes the
    same way: each group at most 255, without a leading zero."""
    for octet in text.split("."):
        if len(octet) > 1 and octet[0] == "0" or int(octet) > 255:
            return False
    return True


def _ip(text: str) -> str | None:
    if _IPV4_TEXT_RE.fullmatch(text):
        return text if is_ipv4_text(text) else None
    try:
        return str(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        return None


def _clause_end(by: re.Match[str]) -> int:
    """Where the ``from`` clause ends: before the space or ")" ahead of "by"."""
    return max(by.start() - 1, 0)


def _from_clause(header: str, by: re.Match[str] | None) -> str:
    return header[: _clause_end(by)] if by else header.split(";", 1)[0]


def client_ips(header: str) -> list[str]:
    """Every address named in the ``from`` clause, normalised, in order."""
    return _clause_ips(_from_clause(header, _BY_RE.search(header)))


class _Patterns(NamedTuple):
    by: re.Pattern[str]
    from_: re.Pattern[str]
    rdns: re.Pattern[str]
    ipv6_bracket: re.Pattern[str]
    ipv6_paren: re.Pattern[str]
    ipv4: re.Pattern[str]
    queue_id: re.Pattern[str]
    with_: re.Pattern[str]


_PATTERNS = _Patterns(
    _BY_RE,
    _FROM_RE,
    _RDNS_RE,
    _IPV6_BRACKET_RE,
    _IPV6_PAREN_RE,
    _IPV4_RE,
    QUEUE_ID_RE,
    _WITH_RE,
)
# The same with ASCII classes, for an ASCII line with its whitespace
# collapsed to spaces (``read_hop_and_ips``): there ``\d``, ``\w``, ``\s``,
# ``\b`` and case-insensitive letters mean what they mean in Unicode (only
# the separators \x1c-\x1f are Unicode whitespace and not ASCII, and
# ``str.split`` collapsed those too), and each is a table lookup instead of
# a look-up in the Unicode database.
_ASCII_PATTERNS = _Patterns(
    *(re.compile(p.pattern, (p.flags & ~re.UNICODE) | re.ASCII) for p in _PATTERNS)
)


def _clause_ips(clause: str, patterns: _Patterns = _PATTERNS) -> list[str]:
    found = [m.group(1) for m in patterns.ipv6_bracket.finditer(clause)]
    found += [m.group(1) for m in patterns.ipv6_paren.finditer(clause)]
    ips = [ip for ip in map(_ip, found) if ip] if found else []
    # What ``_ip`` makes of a dotted quad: itself when valid, as only ASCII
    # digits are (``ipaddress`` refuses others).
    ips += [
        text
        for text in patterns.ipv4.findall(clause)
        if text.isascii() and is_ipv4_text(text)
    ]
    return list(dict.fromkeys(ips))


def find_login(header: str) -> str | None:
    lowered = header.lower()
    # Every pattern names "auth" or "(user="; most headers name neither.
    if "auth" not in lowered and "(user=" not in lowered:
        return None
    for pattern in _LOGIN_RES:
        match = pattern.search(header)
        if match:
            login = match.group(1).strip("<>\"'.,")
            if login and login.lower() not in _NOT_A_LOGIN:
                return login
    return None


def read_hop(header: str) -> Hop:
    """Read one Received header; fields it does not state are None."""
    return read_hop_and_ips(header)[0]


def read_hop_and_ips(header: str) -> tuple[Hop, list[str]]:
    """The hop, and every client address of its ``from`` clause
    (``client_ips``): the hop keeps only the first, the source-IP search
    needs them all, and the clause is read once for both.

    The clause is read from the whitespace-collapsed line; ``client_ips``
    of the header as written finds the same addresses, as neither kind of
    address pattern matches whitespace and "by" is found the same way.
    """
    text = " ".join(header.split())
    patterns = _ASCII_PATTERNS if text.isascii() else _PATTERNS
    by = patterns.by.search(text)
    sender = patterns.from_.match(text)
    clause = _from_clause(text, by)
    rdns = patterns.rdns.search(clause)
    ips = _clause_ips(clause, patterns)
    queue = patterns.queue_id.search(text[_clause_end(by) :] if by else text)
    protocol = patterns.with_.search(text)
    date = text.rsplit(";", 1)[1].strip() if ";" in text else None
    hop = Hop(
        from_name=sender.group(1).strip("[]").lower() if sender else None,
        from_rdns=rdns.group(1).lower().rstrip(".") if rdns else None,
        from_ip=ips[0] if ips else None,
        by_host=by.group(1).lower().rstrip(".") if by else None,
        login=find_login(text),
        queue_id=queue.group(1) if queue else None,
        protocol=protocol.group(1).lower() if protocol else None,
        date=date or None,
    )
    return hop, ips


def read_hops(headers: list[str]) -> tuple[Hop, ...]:
    """The hops of a trail, newest first (the order headers are prepended)."""
    return tuple(read_hop(header) for header in headers[:MAX_HOPS])


# A trail longer than this is a loop or an attack; its newest hops are read.
MAX_HOPS = 60
