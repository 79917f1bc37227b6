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
# The attributes Postfix sends (SMTPD_POLICY_README), as it spells them.
POSTFIX_NAMES = frozenset(
    "request protocol_state protocol_name helo_name queue_id sender recipient "
    "recipient_count client_address client_name reverse_client_name instance "
    "sasl_method sasl_username sasl_sender size ccert_subject ccert_issuer "
    "ccert_fingerprint ccert_pubkey_fingerprint encryption_protocol "
    "encryption_cipher encryption_keysize etrn_domain stress server_address "
    "server_port compatibility_level mail_version client_port policy_context "
    "smtpd_access_policy".split()
)


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
    text = block.decode("utf-8", "replace")
    lines = text.split("\n")
    if "\r" in text:
        lines = [line.rstrip("\r") for line in lines]
    attrs: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition("=")
        if not sep:
            continue
        # Postfix's own names are clean: only anything else is normalised.
        key = name if name in POSTFIX_NAMES else name.strip().lower()
        if key and key not in attrs:
            attrs[key] = value
    return attrs


def reply(action: str) -> bytes:
    """The answer line for ``action`` (e.g. ``DUNNO`` or ``REJECT 5.7.1 text``).
    Line breaks in the text would end the reply early, so they become spaces."""
    text = " ".join(action.split())
    return b"action=" + text.encode("utf-8", "replace") + b"\n\n"


def as_count(value: str | None) -> int:
    if value and value.isdigit() and value.isascii():
        return int(value)  # what Postfix sends, without the exception handler
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
