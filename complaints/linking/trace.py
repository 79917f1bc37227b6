"""The trace header the ISP's relays stamp on outgoing mail (ABUSE_TRACE_HEADER).

Relays write either readable pairs (``login=bob; account=A1001``) or an opaque
token per message or per mailing (an id, a hash, an HMAC). Pairs name the
sender at once; an opaque token names nobody by itself but is a strong key:
every report carrying it is about the same submission or mailing, and once
one such report is linked, the others follow (``MailingKey`` of kind
``trace``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_PAIR_RE = re.compile(r"(login|account|acct|user|sasl|customer)\s*=\s*([^;\s,]+)", re.I)
_TOKEN_RE = re.compile(r"[\x21-\x7e]{6,255}")
MAX_TOKEN = 255


@dataclass(frozen=True)
class TraceFacts:
    login: str | None = None
    account: str | None = None
    token: str | None = None


@functools.lru_cache(maxsize=4096)
def read_trace(value: str | None) -> TraceFacts:
    """Login and account from readable pairs; the whole value as the token."""
    if not value or not value.strip():
        return TraceFacts()
    text = " ".join(value.split())
    pairs = {key.lower(): found for key, found in _PAIR_RE.findall(text)}
    login = pairs.get("login") or pairs.get("user") or pairs.get("sasl")
    account = pairs.get("account") or pairs.get("acct") or pairs.get("customer")
    compact = text.replace(" ", "")[:MAX_TOKEN]
    token = compact if _TOKEN_RE.fullmatch(compact) else None
    if not pairs:
        # A bare value may still be a login or an account number.
        login, account = compact, compact
    return TraceFacts(
        login=login.lower() if login else None,
        account=account,
        token=token,
    )
