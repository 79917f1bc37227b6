"""Whose mail a report is about, with the evidence that decided it.

The precedence follows how mail travels (DESIGN.md, step 4):

1. relay facts: the authenticated login an ISP server recorded, the trace token
   its relays stamp, a relay queue id or Message-ID of a known mailing;
2. the client address at *receive* time, through the IP assignments, read from
   the trusted part of the Received trail (``walk_trail``) with the clock of
   the server that wrote the line;
3. the sender address (From, Return-Path), only when the message passed the
   ISP's servers or came from one of its client addresses, or when the report
   carries no trail at all to check it against.

A report whose only clue is a subscriber's sender address on mail that came
from outside the ISP is *forged* (a joe-job): it belongs to nobody.

``walk_trail`` reads the Received hops newest first and stops at the first
client outside the ISP: lines below that were written by hosts nobody vouches
for, and spammers forge them. Lookups (IP at a time) are passed in, so this
module stays pure and table-tested.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

from complaints.ingest.report import Hop

from . import dates
from .network import IspNetwork, is_never_client, is_private, network_of, parse_ip

IpResolver = Callable[[str, datetime], int | None]


class Clue(StrEnum):
    LOGIN = "login"
    TRACE = "trace token"
    QUEUE_ID = "relay queue id"
    CLIENT_IP = "client address"
    KNOWN_MESSAGE = "known Message-ID"
    SENDER = "sender address"


# Lower is more trusted.
_RANK = {clue: rank for rank, clue in enumerate(Clue)}
RELAY_FACTS = frozenset({Clue.LOGIN, Clue.TRACE, Clue.QUEUE_ID})


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


@dataclass(frozen=True)
class Finding:
    clue: Clue
    subscriber_id: int
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "clue": str(self.clue),
            "subscriber": self.subscriber_id,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Trail:
    """What the trusted part of a Received trail says."""

    passed_isp: bool = False
    client_ip: str | None = None
    client_at: datetime | None = None
    client_subscriber_id: int | None = None
    login: str | None = None
    login_ip: str | None = None
    relay_queue_ids: tuple[str, ...] = ()
    outside_ip: str | None = None
    has_trail: bool = False

    @property
    def is_direct_to_mx(self) -> bool:
        """Sent by a subscriber's client straight to a foreign MX: the classic
        infected PC (no ISP server, no login, on the way)."""
        return self.client_subscriber_id is not None and not self.passed_isp

    @cached_property
    def foreign_network(self) -> str | None:
        """A login used from an address that is none of the ISP's."""
        if not self.login or not self.login_ip or self.client_subscriber_id:
            return None
        if is_never_client(self.login_ip) or is_private(self.login_ip):
            return None
        return network_of(self.login_ip)


def walk_trail(
    hops: Sequence[Hop],
    *,
    isp: IspNetwork,
    resolve_ip: IpResolver,
    fallback_at: datetime,
    source_ip: str | None = None,
    source_at: datetime | None = None,
    relay_logins: Sequence[tuple[str, str]] = (),
) -> Trail:
    """Read the trail newest first up to the first client outside the ISP.

    ``relay_logins`` are (host, login) pairs a relay recorded in a header of
    its own; one counts as the login of the hop that host wrote, if it is one
    of the ISP's."""
    header_logins = dict(relay_logins)
    client: tuple[str, datetime, int] | None = None
    if source_ip and not is_never_client(source_ip):
        # The reporter's own statement of the connecting address (ARF Source-IP).
        at = source_at or fallback_at
        holder = resolve_ip(source_ip, at)
        if holder is not None:
            client = (source_ip, at, holder)
    passed = False
    login = login_ip = outside = None
    queue_ids: list[str] = []
    for number, hop in enumerate(hops):
        at = dates.parse_date(hop.date) or source_at or fallback_at
        hop_login = hop.login
        if isp.receiver_is_isp(hop):
            passed = True
            if hop.queue_id:
                queue_ids.append(hop.queue_id)
            hop_login = hop_login or header_logins.get(hop.by_host or "")
        if hop_login and login is None:
            login, login_ip = hop_login, hop.from_ip
            passed = True
        if client is not None:
            if hop_login or hop.from_ip == client[0]:
                break
            continue
        ip = hop.from_ip
        if ip is None or is_never_client(ip):
            continue
        if isp.client_is_infrastructure(hop):
            passed = True
            continue
        holder = resolve_ip(ip, at)
        if holder is not None:
            client = (ip, at, holder)
            break
        if isp.client_named_in_domains(hop) and not hop_login:
            # An ISP server the settings do not name (its name is the ISP's).
            passed = True
            continue
        if is_private(ip) and not hop_login:
            continue
        if _hands_on_authenticated_mail(
            hop, hops[number + 1 : number + 2], header_logins
        ):
            # A server the settings do not name, which the next line shows took
            # the message by authenticated submission: a relay of the ISP's.
            passed = True
            continue
        outside = ip
        break
    return Trail(
        passed_isp=passed,
        client_ip=client[0] if client else None,
        client_at=client[1] if client else None,
        client_subscriber_id=client[2] if client else None,
        login=login,
        login_ip=login_ip,
        relay_queue_ids=tuple(queue_ids),
        outside_ip=outside,
        has_trail=bool(hops) or parse_ip(source_ip) is not None,
    )


def _hands_on_authenticated_mail(
    hop: Hop, older: Sequence[Hop], header_logins: dict[str, str]
) -> bool:
    """Whether the next older line was written by this hop's client and records
    an authenticated login: the trail is continuous, so the client is the relay
    that took the submission, not the origin. The client's name is the one the
    receiving server looked up (reverse DNS), not the HELO the client chose."""
    if not older:
        return False
    previous = older[0]
    if not previous.by_host or previous.by_host != hop.from_rdns:
        return False
    return bool(previous.login or header_logins.get(previous.by_host))


@dataclass(frozen=True)
class Attribution:
    subscriber_id: int | None
    decided_by: Finding | None
    disagreeing: tuple[Finding, ...] = ()
    confidence: Confidence = Confidence.NONE
    is_forged: bool = False
    forged_reason: str = ""
    findings: tuple[Finding, ...] = field(default=(), repr=False)

    @property
    def note(self) -> str:
        if self.decided_by is not None:
            return f"{self.decided_by.clue} {self.decided_by.detail}".strip()
        if self.is_forged:
            return f"forged: {self.forged_reason}"
        return (
            "no login, trace, queue id, client address or sender matched a subscriber"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "decided_by": self.decided_by.to_json() if self.decided_by else None,
            "disagreeing": [f.to_json() for f in self.disagreeing],
            "confidence": str(self.confidence),
            "forged": self.is_forged,
        }


def attribute(findings: Sequence[Finding], *, trail: Trail) -> Attribution:
    """Decide the subscriber from what each clue found."""
    ordered = sorted(findings, key=lambda f: _RANK[f.clue])
    sender_trusted = (
        trail.passed_isp
        or trail.client_subscriber_id is not None
        or not trail.has_trail
    )
    usable = [f for f in ordered if f.clue != Clue.SENDER or sender_trusted]
    if not usable:
        senders = [f for f in ordered if f.clue == Clue.SENDER]
        if senders:
            origin = f" (it came from {trail.outside_ip})" if trail.outside_ip else ""
            reason = (
                f"the sender {senders[0].detail} is a subscriber's, but the message "
                f"never passed the ISP's servers or its client addresses{origin}"
            )
            return Attribution(
                subscriber_id=None,
                decided_by=None,
                is_forged=True,
                forged_reason=reason[:255],
                findings=tuple(ordered),
            )
        return Attribution(subscriber_id=None, decided_by=None, findings=tuple(ordered))
    decided = usable[0]
    agreeing = [f for f in usable[1:] if f.subscriber_id == decided.subscriber_id]
    disagreeing = tuple(f for f in ordered if f.subscriber_id != decided.subscriber_id)
    return Attribution(
        subscriber_id=decided.subscriber_id,
        decided_by=decided,
        disagreeing=disagreeing,
        confidence=_confidence(decided, agreeing, disagreeing),
        findings=tuple(ordered),
    )


def _confidence(
    decided: Finding, agreeing: list[Finding], disagreeing: tuple[Finding, ...]
) -> Confidence:
    if decided.clue in RELAY_FACTS:
        return Confidence.HIGH if not disagreeing else Confidence.MEDIUM
    if decided.clue in (Clue.CLIENT_IP, Clue.KNOWN_MESSAGE):
        return Confidence.HIGH if agreeing and not disagreeing else Confidence.MEDIUM
    return Confidence.LOW
