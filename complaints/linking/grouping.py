"""Which mailing (incident) a report belongs to, and when a mailing looks like a
compromised account's.

A mailing is one subscriber's *campaign* (the copies of one newsletter,
whatever their per-copy subject variations) or one *outbreak* (an infected PC's
or a stolen password's burst, whatever its random subjects). ``choose``
decides for one report, in this order:

1. a strong key (trace token, relay queue id, a known Message-ID) names the
   mailing: that one, when it is the same subscriber's;
2. a report that shows compromise (sent straight to a foreign MX from the
   subscriber's own address, or a login used from a network that is none of
   the ISP's) joins the subscriber's outbreak active within the window, or
   founds one;
3. otherwise the subscriber's campaign within the window whose subjects match
   best (``subjects.subjects_similar``);
4. otherwise the subscriber's campaign whose subjects match, seen within the
   re-send window (a newsletter re-sent days later to those who did not open
   it is the same newsletter; a new issue a week on is a new mailing);
5. otherwise, while the subscriber has an outbreak running in the window, that
   outbreak (an unrelated subject in the middle of a burst is part of it),
   unless the report went through the ISP's relays from the subscriber's own
   address: that is the subscriber's own mail (the infected PC or the thief
   sends from elsewhere), a campaign of its own;
6. otherwise a new campaign.

A report known only by a bare sender address (no trail to check it against,
so possibly forged) may join a campaign as in steps 3 and 4, or the sender's
running outbreak as in step 5 (a stolen password's spam carries the account's own
address), and nothing else: it confirms a mailing that checked reports
founded, and otherwise stays unattributed for staff (``UNCONFIRMED``).

"Within the window" means the mailing's seen span, widened by the window,
covers the report's time, so a mailing grows as its reports trickle in.
Ties go to the mailing seen closest in time, then the oldest, so the result
does not depend on the order rows were loaded in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from . import subjects


class MailingKind(StrEnum):
    CAMPAIGN = "campaign"
    OUTBREAK = "outbreak"


@dataclass
class Candidate:
    """A mailing as grouping sees it (mutable: a batch widens it as it goes)."""

    mailing_id: int
    subscriber_id: int
    kind: MailingKind
    variants: list[str]
    first_seen: datetime
    last_seen: datetime

    def covers(self, at: datetime, window: timedelta) -> bool:
        return self.first_seen - window <= at <= self.last_seen + window

    def distance(self, at: datetime) -> timedelta:
        if self.first_seen <= at <= self.last_seen:
            return timedelta(0)
        return min(abs(at - self.first_seen), abs(at - self.last_seen))


@dataclass(frozen=True)
class ReportShape:
    subscriber_id: int
    at: datetime
    subject_key: str
    shows_compromise: bool = False
    keyed_mailing_id: int | None = None
    # Attributed by a bare sender address, with no trail to check it against:
    # it may confirm a campaign that checked reports founded, never found one.
    needs_confirmation: bool = False
    # Sent through the ISP's relays from one of the subscriber's own addresses,
    # with nothing that shows compromise: never part of an outbreak by time.
    is_owner_relayed: bool = False


@dataclass(frozen=True)
class Choice:
    mailing_id: int | None
    kind: MailingKind
    how: str


def choose(
    report: ReportShape,
    candidates: Iterable[Candidate],
    *,
    window: timedelta,
    resend_window: timedelta | None = None,
) -> Choice:
    """The mailing ``report`` belongs to; ``mailing_id`` None means a new one.
    ``resend_window`` (longer than ``window``) is how long after a campaign a
    matching subject is still its re-send; None: no re-sends."""
    own = [c for c in candidates if c.subscriber_id == report.subscriber_id]
    for candidate in own:
        if candidate.mailing_id == report.keyed_mailing_id:
            return Choice(candidate.mailing_id, candidate.kind, "known key")
    near = [c for c in own if c.covers(report.at, window)]
    outbreaks = _closest([c for c in near if c.kind == MailingKind.OUTBREAK], report.at)
    if report.shows_compromise:
        if outbreaks:
            return Choice(
                outbreaks[0].mailing_id, MailingKind.OUTBREAK, "same outbreak"
            )
        return Choice(None, MailingKind.OUTBREAK, "new outbreak")
    campaign = _best_campaign(report, near)
    if campaign is not None:
        return Choice(campaign.mailing_id, MailingKind.CAMPAIGN, "similar subject")
    if resend_window is not None and resend_window > window:
        earlier = [c for c in own if c.covers(report.at, resend_window)]
        campaign = _best_campaign(report, earlier)
        if campaign is not None:
            return Choice(campaign.mailing_id, MailingKind.CAMPAIGN, "re-sent")
    if report.is_owner_relayed:
        outbreaks = []
    if report.needs_confirmation and not outbreaks:
        return Choice(None, MailingKind.CAMPAIGN, UNCONFIRMED)
    if outbreaks:
        return Choice(
            outbreaks[0].mailing_id, MailingKind.OUTBREAK, "during an outbreak"
        )
    return Choice(None, MailingKind.CAMPAIGN, "new campaign")


def _closest(found: list[Candidate], at: datetime) -> list[Candidate]:
    return sorted(found, key=lambda c: (c.distance(at), c.first_seen, c.mailing_id))


def _best_campaign(report: ReportShape, near: list[Candidate]) -> Candidate | None:
    scored = []
    for candidate in near:
        if candidate.kind != MailingKind.CAMPAIGN:
            continue
        if report.subject_key in candidate.variants:
            score = 1.0
        else:
            score = subjects.best_match(report.subject_key, candidate.variants)
        if score > 0:
            scored.append(
                (
                    -score,
                    candidate.distance(report.at),
                    candidate.first_seen,
                    candidate.mailing_id,
                    candidate,
                )
            )
    return min(scored)[-1] if scored else None


UNCONFIRMED = "unconfirmed"
MAX_VARIANTS = 20


def variants_add(variants: list[str], key: str) -> list[str]:
    """The mailing's subject variants with ``key``, capped (the first ones stay:
    they are what the mailing was founded on)."""
    if key in variants or len(variants) >= MAX_VARIANTS:
        return variants
    return [*variants, key]


# -- compromise suspicion -------------------------------------------------

MAX_SIGNAL_VALUES = 20
RANDOM_SUBJECTS = 3
FORGED_SENDERS = 3


@dataclass(frozen=True)
class ReportSignals:
    """What one report adds to its mailing's ``signals``."""

    sender: str | None = None
    is_direct_to_mx: bool = False
    foreign_network: str | None = None
    client_network: str | None = None
    login: str | None = None


def signals_add(signals: Mapping[str, Any], report: ReportSignals) -> dict[str, Any]:
    """Fold one report's signals into a mailing's (a JSON-able dict)."""
    merged: dict[str, Any] = {
        "direct_to_mx": int(signals.get("direct_to_mx", 0))
        + int(report.is_direct_to_mx),
    }
    for name, value in (
        ("senders", report.sender),
        ("foreign_networks", report.foreign_network),
        ("client_networks", report.client_network),
        ("logins", report.login),
    ):
        values = list(signals.get(name, []))
        if value and value not in values and len(values) < MAX_SIGNAL_VALUES:
            values.append(value)
        merged[name] = values
    return merged


def unrelated_subjects(variants: Sequence[str]) -> int:
    """How many mutually dissimilar subjects a mailing has (greedy clusters)."""
    clusters: list[str] = []
    for variant in variants:
        if not any(subjects.subjects_similar(variant, seen) for seen in clusters):
            clusters.append(variant)
    return len(clusters)


@dataclass(frozen=True)
class Suspicion:
    is_likely_compromised: bool
    reasons: tuple[str, ...] = field(default=())

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def suspicion(*, signals: Mapping[str, Any], variants: Sequence[str]) -> Suspicion:
    """Whether a mailing looks like a compromised account's, and why."""
    reasons = []
    if signals.get("direct_to_mx"):
        reasons.append(
            "sent straight to the recipients' servers from the subscriber's own "
            "(dynamic) address, not through the ISP's relays"
        )
    foreign = list(signals.get("foreign_networks", []))
    random_subjects = unrelated_subjects(variants) >= RANDOM_SUBJECTS
    if foreign:
        reasons.append(
            f"the relay login was used from {len(foreign)} network(s) foreign to "
            f"the account ({', '.join(foreign[:3])})"
        )
    senders = list(signals.get("senders", []))
    domains = {s.rsplit("@", 1)[-1] for s in senders}
    if random_subjects:
        reasons.append("random, unrelated subjects")
    if len(senders) >= FORGED_SENDERS and len(domains) >= 2 and random_subjects:
        reasons.append(f"{len(senders)} different From lines")
    return Suspicion(bool(reasons), tuple(reasons))
