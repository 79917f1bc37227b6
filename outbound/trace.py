"""The trace token with the desk's key: signing for the policy service, reading
for the linking of complaints and bounces to submissions."""

from abusedesk.tracetoken import TracePayload, sign, verify
from complaints.services.linking import trace_key

__all__ = ["trace_key", "trace_sign", "trace_verify"]


def trace_sign(payload: TracePayload, *, key: bytes | None = None) -> str:
    return sign(payload, key=key or trace_key())


def trace_verify(token: str | None) -> TracePayload | None:
    return verify(token, key=trace_key())
