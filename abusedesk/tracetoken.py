"""The signed, opaque trace token the outbound policy service stamps on mail.

Pure functions, no ORM and no settings: the caller passes the key (derived from
SECRET_KEY by ``outbound.trace.trace_key``). A token names one submission (relay
host, queue id, time) and carries the subscriber id and login, so a complaint or
bounce that quotes it resolves to exactly one submission.

Format: a version byte, the time (seconds, 4 bytes), the subscriber id (4 bytes,
0 for none), then host, queue id and login as length-prefixed UTF-8, then 12 bytes
of HMAC-SHA256 over all of it, base64url without padding. Opaque means "not
meant to be read", not secret: anyone can decode the fields, nobody can forge
them without the key. 96 bits of MAC are plenty for a header that forgers get one
guess per message at.
"""

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from functools import lru_cache

VERSION = 1
MAC_BYTES = 12
_HEAD = struct.Struct(">BII")
# Anything longer is not a token; checked before decoding so junk costs nothing.
MAX_TOKEN_CHARS = 1100


@dataclass(frozen=True)
class TracePayload:
    relay_host: str
    queue_id: str
    issued_at: int  # seconds since the epoch, UTC
    subscriber_id: int | None
    login: str


def _field(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > 255:
        # A cut inside a multi-byte character would not decode again.
        data = data[:255].decode("utf-8", "ignore").encode("utf-8")
    return bytes((len(data),)) + data


# A policy server signs for one or a few relay hosts: their fields are kept.
_host_field = lru_cache(maxsize=64)(_field)
_URLSAFE = bytes.maketrans(b"+/", b"-_")


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> tuple:
    """The SHA-256 states after the key's inner and outer pads (RFC 2104), copied
    per token: HMAC without keying it, or the hmac module's Python wrapper, each
    time."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return (
        hashlib.sha256(key.translate(_INNER_PAD)),
        hashlib.sha256(key.translate(_OUTER_PAD)),
    )


_BLOCK = 64  # SHA-256's block size
_INNER_PAD = bytes(b ^ 0x36 for b in range(256))
_OUTER_PAD = bytes(b ^ 0x5C for b in range(256))


def _mac(key: bytes, body: bytes) -> bytes:
    inner_state, outer_state = _keyed(key)
    inner = inner_state.copy()
    inner.update(body)
    outer = outer_state.copy()
    outer.update(inner.digest())
    return outer.digest()[:MAC_BYTES]


def sign(payload: TracePayload, *, key: bytes) -> str:
    """The token for ``payload``: short, header-safe base64url text."""
    return sign_fields(
        payload.relay_host,
        payload.queue_id,
        payload.issued_at,
        payload.subscriber_id,
        payload.login,
        key=key,
    )


def sign_fields(
    relay_host: str,
    queue_id: str,
    issued_at: int,
    subscriber_id: int | None,
    login: str,
    *,
    key: bytes,
) -> str:
    """``sign`` of the payload of these fields, without building it (the policy
    service signs every message it passes)."""
    queue = queue_id.encode("utf-8")
    user = login.encode("utf-8")
    if len(queue) > 255 or len(user) > 255:
        queue, user = _field(queue_id)[1:], _field(login)[1:]
    body = b"".join(
        (
            _HEAD.pack(VERSION, issued_at & 0xFFFFFFFF, subscriber_id or 0),
            _host_field(relay_host),
            bytes((len(queue),)),
            queue,
            bytes((len(user),)),
            user,
        )
    )
    raw = body + _mac(key, body)
    # base64.urlsafe_b64encode, without its wrappers' cost.
    encoded = binascii.b2a_base64(raw, newline=False).translate(_URLSAFE)
    return encoded.rstrip(b"=").decode("ascii")


def verify(token: str | None, *, key: bytes) -> TracePayload | None:
    """The payload of a genuine token, or None for anything else (forged, cut
    short, another version, not base64)."""
    token = (token or "").strip()
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) < _HEAD.size + 3 + MAC_BYTES:
        return None
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, body)):
        return None
    version, issued_at, subscriber_id = _HEAD.unpack_from(body)
    if version != VERSION:
        return None
    fields, at = [], _HEAD.size
    for _ in range(3):
        if at >= len(body):
            return None
        size = body[at]
        fields.append(body[at + 1 : at + 1 + size].decode("utf-8", "replace"))
        at += 1 + size
    if at != len(body):
        return None
    return TracePayload(
        relay_host=fields[0],
        queue_id=fields[1],
        issued_at=issued_at,
        subscriber_id=subscriber_id or None,
        login=fields[2],
    )
