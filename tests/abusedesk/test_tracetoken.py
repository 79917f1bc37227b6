"""The trace token: what it carries, and that nothing else passes for one."""

import base64
import hashlib
import hmac
import struct

import pytest

from abusedesk.tracetoken import TracePayload, sign, sign_fields, verify

KEY = b"k" * 32
PAYLOAD = TracePayload(
    relay_host="relay1.isp.example",
    queue_id="4QXYZ1abcD",
    issued_at=1_780_000_000,
    subscriber_id=42,
    login="bob@isp.example",
)


def test_a_signed_token_verifies_to_its_payload():
    assert verify(sign(PAYLOAD, key=KEY), key=KEY) == PAYLOAD


def test_token_is_short_header_safe_text():
    token = sign(PAYLOAD, key=KEY)
    assert len(token) < 100
    assert token.replace("-", "").replace("_", "").isalnum()


def test_a_sender_without_subscriber_has_none():
    payload = TracePayload("r", "ABC123", 1, None, "")
    assert verify(sign(payload, key=KEY), key=KEY).subscriber_id is None


def test_another_key_does_not_verify():
    assert verify(sign(PAYLOAD, key=KEY), key=b"x" * 32) is None


@pytest.mark.parametrize(
    "token",
    ["", None, "not a token", "AAAA", "!!!!", "A" * 1200, "AWsPa2UAAAAACWxv"],
)
def test_junk_is_not_a_token(token):
    assert verify(token, key=KEY) is None


def test_any_changed_character_breaks_the_token():
    token = sign(PAYLOAD, key=KEY)
    for at in range(0, len(token) - 1, 7):
        flipped = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]
        assert verify(flipped, key=KEY) is None


def test_long_fields_are_cut_to_whole_characters():
    payload = TracePayload("h" * 300, "Q", 5, 1, "é" * 200)
    got = verify(sign(payload, key=KEY), key=KEY)
    assert got.relay_host == "h" * 255
    assert got.login == "é" * 127


def _documented_token(payload, key):
    """The format the module docstring gives, built with nothing of the module."""
    body = struct.pack(">BII", 1, payload.issued_at, payload.subscriber_id or 0)
    for text in (payload.relay_host, payload.queue_id, payload.login):
        data = text.encode()
        body += bytes((len(data),)) + data
    raw = body + hmac.new(key, body, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "payload",
    [
        PAYLOAD,
        TracePayload("r", "", 0, None, ""),
        TracePayload("relé.example", "Q" * 40, 2**31 + 5, 7, "ü" * 100),
    ],
)
def test_tokens_have_the_documented_format(payload):
    fields = (
        payload.relay_host,
        payload.queue_id,
        payload.issued_at,
        payload.subscriber_id,
        payload.login,
    )
    assert sign(payload, key=KEY) == _documented_token(payload, KEY)
    assert sign_fields(*fields, key=KEY) == _documented_token(payload, KEY)
    assert verify(sign_fields(*fields, key=KEY), key=KEY) == payload
