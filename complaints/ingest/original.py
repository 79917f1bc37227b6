"""The headers of a reported or returned message, as ``OriginalMessage``.

Owns reading what linking needs from the original's header block: identity
headers, the ``Received`` trail (RFC 5321 section 4.4) with its client IPs,
authenticated logins and queue ids, and the ISP's own trace header. ARF
(RFC 5965 section 3.2) or DSN per-message fields, when present, take
precedence over what the headers say.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from email.message import Message

from . import parse
from .report import OriginalMessage

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_BY_RE = re.compile(r"\sby\s", re.I)
_IPV4_RE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")
_IPV6_RE = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:]{3,}(?:\d+\.\d+\.\d+\.\d+)?)\]")
# Authenticated submission as the common MTAs record it in Received headers:
# Postfix "(Authenticated sender: x)", Exim/cPanel "authenticated as x" and
# "auth=x", Courier "(AUTH: LOGIN x, ...)", Sendmail "(authenticated as x)",
# and Authentication-Results "smtp.auth=x" (RFC 8601 section 2.7.4).
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
_QUEUE_ID_RE = re.compile(r"\bid\s+<?([A-Za-z0-9][\w.\-]{4,80})>?", re.I)


# Private, loopback, link-local and "this network" IPv4 ranges (RFC 1918,
# RFC 1122, RFC 3927), built once rather than for every address checked.
_INTERNAL_V4 = tuple(
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "0.0.0.0/8",
    )
)


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_external_ip(addr: IPAddress) -> bool:
    """True for an address that can identify a sender on the internet.

    Documentation ranges (RFC 5737) count as external so that examples and
    test fixtures behave like real traffic.
    """
    if addr.version == 4:
        return not any(addr in net for net in _INTERNAL_V4)
    return not (addr.is_loopback or addr.is_link_local or addr.is_private)


def _client_ips(received: str) -> list[tuple[str, IPAddress]]:
    """The client IPs named in the ``from`` clause of one Received, as written
    and parsed (each is parsed once)."""
    clause = _BY_RE.split(received, maxsplit=1)[0]
    texts = [m.group(1) for m in _IPV6_RE.finditer(clause) if ":" in m.group(1)]
    texts += _IPV4_RE.findall(clause)
    parsed = [(text, _parse_ip(text)) for text in texts]
    return [(text, ip) for text, ip in parsed if ip is not None]


def received_ips(received: str) -> list[str]:
    """Return the client IPs named in the ``from`` clause of one Received."""
    return [text for text, _ip in _client_ips(received)]


def first_external_ip(received: Sequence[str]) -> str | None:
    """The oldest external client IP of a Received trail (read bottom up)."""
    for header in reversed(received):
        for text, ip in _client_ips(header):
            if _is_external_ip(ip):
                return text
    return None


def find_login(headers: Sequence[str]) -> str | None:
    """The authenticated login recorded in a Received trail, oldest first."""
    for header in reversed(headers):
        # Every pattern names "auth" or "(user="; most headers name neither.
        lowered = header.lower()
        if "auth" not in lowered and "(user=" not in lowered:
            continue
        for pattern in _LOGIN_RES:
            match = pattern.search(header)
            if match:
                login = match.group(1).strip("<>\"'.,")
                if login and login.lower() not in ("none", "no", "pass", "fail"):
                    return login
    return None


def queue_ids(received: Sequence[str]) -> tuple[str, ...]:
    ids = []
    for header in received:
        ids.extend(_QUEUE_ID_RE.findall(header))
    return tuple(dict.fromkeys(ids))


def _first(fields: Mapping[str, Sequence[str]], *names: str) -> str | None:
    for name in names:
        values = fields.get(name)
        if values and values[0].strip():
            return values[0].strip()
    return None


def build_original(
    headers: Message | None,
    fields: Mapping[str, Sequence[str]],
    *,
    trace_header: str,
) -> OriginalMessage | None:
    """Combine the original's headers with report ``fields`` (lowercase keys)."""
    if headers is None and not fields:
        return None
    msg = headers if headers is not None else Message()
    received = parse.header_all(msg, "Received")
    auth_results = parse.header_all(msg, "Authentication-Results")
    rcpt_to = [
        parse.clean_address(value) or value.strip()
        for value in fields.get("original-rcpt-to", ())
        if value.strip()
    ] or [
        a
        for name in ("X-HmXmrOriginalRecipient", "X-Original-To")
        for a in parse.addresses_in(" ".join(parse.header_all(msg, name)))
    ]
    mail_from = _first(fields, "original-mail-from") or parse.header(msg, "Return-Path")
    queue = [*fields.get("x-postfix-queue-id", ()), *queue_ids(received)]
    return OriginalMessage(
        message_id=parse.header(msg, "Message-ID")
        or _first(fields, "x-original-message-id", "original-message-id"),
        from_=parse.header(msg, "From"),
        subject=parse.header(msg, "Subject"),
        date=parse.header(msg, "Date"),
        to=parse.header(msg, "To"),
        mail_from=parse.clean_address(mail_from) if mail_from else None,
        rcpt_to=tuple(dict.fromkeys(rcpt_to)),
        source_ip=_source_ip(fields) or first_external_ip(received),
        arrival_date=_first(fields, "arrival-date", "received-date"),
        login=find_login(received) or find_login(auth_results),
        queue_ids=tuple(dict.fromkeys(q.strip() for q in queue if q.strip())),
        trace=parse.header(msg, trace_header) if trace_header else None,
    )


def _source_ip(fields: Mapping[str, Sequence[str]]) -> str | None:
    value = _first(fields, "source-ip", "x-originating-ip")
    if not value:
        return None
    value = value.strip("[] ")
    return value if _parse_ip(value) is not None else None
