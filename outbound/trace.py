"""The trace token with the desk's key: signing for the policy service, reading
for the linking of complaints and bounces to submissions."""

from django.conf import settings
from django.utils.crypto import salted_hmac

from abusedesk.tracetoken import TracePayload, sign, verify


def trace_key() -> bytes:
    """The token key, derived from SECRET_KEY so no second secret needs handling;
    changing SECRET_KEY makes older tokens unverifiable (they then link by queue id)."""
    return salted_hmac(
        "abusedesk.tracetoken", "outbound trace", secret=settings.SECRET_KEY
    ).digest()


def trace_sign(payload: TracePayload, *, key: bytes | None = None) -> str:
    return sign(payload, key=key or trace_key())


def trace_verify(token: str | None) -> TracePayload | None:
    return verify(token, key=trace_key())
