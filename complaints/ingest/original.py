"""The headers of a reported or returned message, as ``OriginalMessage``.

Owns reading what linking needs from the original's header block: identity
headers, the ``Received`` trail (RFC 5321 section 4.4) with its client IPs,
authenticated logins and queue ids, and the ISP's own trace header. ARF
(RFC 5965 section 3.2) or DSN per-message fields, when present, take
precedence over what the headers say.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from email.message import Message
from functools import partial

from . import parse, received
from .report import Later, OriginalMessage

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 1918 private networks and "this network" (RFC 1122): never a client on
# the internet. Loopback and link-local are tested through ``ipaddress``.
_PRIVATE_V4 = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "0.0.0.0/8")
)


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_external_ip(addr: IPAddress) -> bool:
    """True for an address that can identify a sender on the internet.

    Only what can never be a client is left out: loopback, link-local,
    unspecified, multicast and the RFC 1918 ranges. Documentation ranges
    (RFC 5737, RFC 3849 ``2001:db8::/32``) and unique-local IPv6 count as
    external: an ISP may assign any of them, and whether one is the ISP's is
    decided against its IP assignments (``complaints.linking``), not here.
    """
    if addr.is_loopback or addr.is_link_local or addr.is_unspecified:
        return False
    if addr.is_multicast:
        return False
    if addr.version == 4:
        return not any(addr in net for net in _PRIVATE_V4)
    return True


def received_ips(header: str) -> list[str]:
    """Return the client IPs named in the ``from`` clause of one Received."""
    return received.client_ips(header)


def first_external_ip(headers: Sequence[str]) -> str | None:
    """The oldest external client IP of a Received trail (read bottom up)."""
    return _first_external(received.client_ips(header) for header in headers)


def _first_external(trail_ips: Iterable[list[str]]) -> str | None:
    """``first_external_ip`` of each header's client addresses, newest first."""
    for ips in reversed(list(trail_ips)):
        for text in ips:
            if _is_external_text(text):
                return text
    return None


def _is_external_text(text: str) -> bool:
    """``_is_external_ip`` of an address ``client_ips`` wrote: dotted IPv4
    is tested by its numbers, without building an address object."""
    if ":" in text:
        ip = _parse_ip(text)
        return ip is not None and _is_external_ip(ip)
    a, b, *_ = map(int, text.split("."))
    return not (
        a in (0, 10, 127)  # "this network" (RFC 1122), private, loopback
        or (a == 169 and b == 254)  # link-local
        or (a == 172 and 16 <= b <= 31)
        or (a == 192 and b == 168)
        or 224 <= a <= 239  # multicast
    )


def find_login(headers: Sequence[str]) -> str | None:
    """The authenticated login recorded in a Received trail, oldest first."""
    for header in reversed(headers):
        login = received.find_login(header)
        if login:
            return login
    return None


def queue_ids(headers: Sequence[str]) -> tuple[str, ...]:
    ids = []
    for header in headers:
        ids.extend(received.QUEUE_ID_RE.findall(header))
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
    received_headers = parse.header_all(msg, "Received")
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
    queue = [*fields.get("x-postfix-queue-id", ()), *queue_ids(received_headers)]
    # Each hop's client addresses serve both the hops and the source IP.
    trail = [
        received.read_hop_and_ips(h) for h in received_headers[: received.MAX_HOPS]
    ]
    source_ip = _source_ip(fields) or _first_external(
        [
            *(ips for _hop, ips in trail),
            *map(received.client_ips, received_headers[received.MAX_HOPS :]),
        ]
    )
    return OriginalMessage(
        message_id=parse.header(msg, "Message-ID")
        or _first(fields, "x-original-message-id", "original-message-id"),
        from_=parse.header(msg, "From"),
        subject=parse.header(msg, "Subject"),
        date=parse.header(msg, "Date"),
        to=parse.header(msg, "To"),
        mail_from=parse.clean_address(mail_from) if mail_from else None,
        rcpt_to=tuple(dict.fromkeys(rcpt_to)),
        source_ip=source_ip,
        arrival_date=_first(fields, "arrival-date", "received-date"),
        login=find_login(received_headers)
        or find_login(auth_results)
        or _header_login(msg),
        queue_ids=tuple(dict.fromkeys(q.strip() for q in queue if q.strip())),
        trace=(parse.header(msg, trace_header) if trace_header else None)
        or _trace_like(msg),
        hops=tuple(hop for hop, _ips in trail),
        relay_logins=_relay_logins(msg),
        fingerprint=Later(partial(_fingerprint, msg, dict(fields))),
    )


# Relays that record the authenticated login in a header of their own: cPanel's
# Exim ("X-Get-Message-Sender-Via: host: authenticated_id: login") and others'
# "X-Authenticated-User: login". Linking trusts them only on mail that passed
# the ISP's servers.
_HEADER_LOGIN_RES = (
    ("X-Get-Message-Sender-Via", re.compile(r"authenticated_id:\s*([^\s;]+)", re.I)),
    ("X-Authenticated-User", re.compile(r"^\s*(?:[^\s:]+:\s*)?([^\s;]+)\s*$")),
    ("X-AuthUser", re.compile(r"^\s*([^\s;]+)\s*$")),
)


_SENDER_VIA_RE = re.compile(r"^\s*([^\s:]+)\s*:\s*authenticated_id:\s*([^\s;]+)", re.I)


# Relays name their trace header in their own way ("X-VL-Trace",
# "X-ISP-Trace-Id"); one so named stands in when the configured one is absent.
_TRACE_NAME_RE = re.compile(r"^x-[a-z0-9-]*trace(?:-?id)?$", re.I)


def _trace_like(msg: Message) -> str | None:
    # Every name the pattern takes holds "trace" once lowercased: when no
    # field name does (most messages), no name needs a look of its own.
    if "trace" not in parse.lowered_names(msg):
        return None
    for name in msg.keys()[:200]:
        # Every name the pattern takes holds "trace" (no other character folds
        # to one of its letters); most names do not.
        if "trace" in name.lower() and _TRACE_NAME_RE.match(name):
            value = parse.header(msg, name)
            if value and value.strip():
                return value.strip()
    return None


def _relay_logins(msg: Message) -> tuple[tuple[str, str], ...]:
    found = []
    for value in parse.header_all(msg, "X-Get-Message-Sender-Via")[:5]:
        match = _SENDER_VIA_RE.match(value)
        if match:
            found.append((match.group(1).lower().rstrip("."), match.group(2)))
    return tuple(found)


def _header_login(msg: Message) -> str | None:
    for name, pattern in _HEADER_LOGIN_RES:
        value = parse.header(msg, name)
        match = pattern.search(value) if value else None
        if match:
            return match.group(1).strip("<>\"'")
    return None


def _fingerprint(msg: Message, fields: Mapping[str, Sequence[str]]) -> str:
    """A digest of what a report says: its feedback fields and every header of
    the reported message, in order. A feedback loop resending a report under a
    new Message-ID repeats it; two recipients' reports of one mailing differ in
    their delivery headers (Received, X-Original-To, Delivered-To)."""
    lines = [
        f"{name}:{' '.join(value.split())}\n"
        for name in sorted(fields)
        for value in fields[name]
    ]
    fetch = msg.policy.header_fetch_parse
    for name, value in msg.raw_items():
        lowered = name.lower()
        # A multipart boundary is the sender's random token, not something the
        # report says; leaving Content-Type out keeps digests stable.
        if lowered == "content-type":
            continue
        # What ``msg.items()`` gives: raw 8-bit values come back as headers.
        text = value if value.isascii() else str(fetch(name, value))
        lines.append(f"{lowered}:{' '.join(text.split())}\n")
    return hashlib.sha256("".join(lines).encode(errors="replace")).hexdigest()


def _source_ip(fields: Mapping[str, Sequence[str]]) -> str | None:
    value = _first(fields, "source-ip", "x-originating-ip")
    if not value:
        return None
    value = value.strip("[] ")
    return value if _parse_ip(value) is not None else None
