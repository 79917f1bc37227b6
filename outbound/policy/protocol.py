"""Postfix's policy delegation protocol, as pure functions (SMTPD_POLICY_README).

A request is ``name=value`` lines ended by an empty line; the answer is one
``action=...`` line and an empty line. The connection then carries the next
request. Nothing here does I/O.
"""

import ipaddress
from functools import lru_cache

# The longest request accepted. Postfix's own requests are a few hundred bytes
# (certificate fields included); anything near this is not Postfix.
MAX_REQUEST_BYTES = 64 * 1024
TERMINATOR = b"\n\n"


def split_requests(buffer: bytearray) -> list[bytes]:
    """Take every complete request off the front of ``buffer`` (in place)."""
    requests = []
    while True:
        # Postfix writes bare LF; a CRLF client is tolerated.
        end = buffer.find(TERMINATOR)
        crlf = buffer.find(b"\r\n\r\n")
        if crlf != -1 and (end == -1 or crlf < end):
            requests.append(bytes(buffer[:crlf]))
            del buffer[: crlf + 4]
            continue
        if end == -1:
            return requests
        requests.append(bytes(buffer[:end]))
        del buffer[: end + 2]


def parse_request(block: bytes) -> dict[str, str]:
    """The attributes of one request. Lines without ``=`` are ignored; a repeated
    name keeps its first value."""
    attrs: dict[str, str] = {}
    for line in block.split(b"\n"):
        name, sep, value = line.rstrip(b"\r").partition(b"=")
        if not sep or not name:
            continue
        key = name.decode("ascii", "replace").strip().lower()
        if key not in attrs:
            attrs[key] = value.decode("utf-8", "replace")
    return attrs


def reply(action: str) -> bytes:
    """The answer line for ``action`` (e.g. ``DUNNO`` or ``REJECT 5.7.1 text``).
    Line breaks in the text would end the reply early, so they become spaces."""
    text = " ".join(action.split())
    return b"action=" + text.encode("utf-8", "replace") + b"\n\n"


def as_count(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


@lru_cache(maxsize=65536)
def client_network(address: str | None) -> str:
    """The /24 (IPv4) or /48 (IPv6) a client address belongs to, or "" for
    anything that is not an address (Postfix sends "unknown" sometimes)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def parse_networks(values: list[str]) -> tuple:
    """Addresses or networks from a setting, as ip_network objects; a bad entry is
    an error the operator must fix, so it raises ValueError."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v)


@lru_cache(maxsize=65536)
def is_in_networks(address: str | None, networks: tuple) -> bool:
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in networks)
