"""The three-strikes policy: what earns a strike and what each strike leads to.

This module is the only place the rules are written down. Everything else asks it
for a verdict. The numbers are settings (ABUSE_*) that the caller passes in; this
module reads no settings, no clock and no database.

The rules, in plain English:

1. Strikes are counted per mailing, not per complaint. A mailing earns at most one
   strike, ever. More complaints about a mailing that already has a strike are
   more evidence, not more strikes.
2. A mailing is eligible for a strike when it drew at least
   ABUSE_COMPLAINTS_PER_STRIKE complaints (default 1).
3. A mailing is also eligible when it went to too many addresses that do not exist
   (a "bounce storm"): its hard bounces reach ABUSE_BOGUS_MIN (default 25) AND
   ABUSE_BOGUS_RATE (default 10%) of its recipients. Exactly 10% counts. When the
   number of recipients is not known, the count of hard bounces alone decides.
4. A bounce storm suspends the account at once, whatever its strike count, because
   the outbound servers must be protected. It also counts as a strike.
5. A strike stays live forever, unless ABUSE_STRIKE_WINDOW_DAYS is set: then a
   strike stops counting once it is that many days old. A revoked strike (an appeal
   that was upheld) never counts; the caller leaves revoked strikes out.
6. What the live strikes lead to, with ABUSE_STRIKE_LIMIT = 3:
   the first live strike is a warning, the second a final warning, and the third
   suspends the account. Staff then decide whether to terminate it. In general the
   strike just below the limit is the final warning and reaching the limit
   suspends.
7. A mailing that staff mark as sent from a compromised account (a stolen password,
   an infected PC) earns no strike; the account is secured instead (restricted
   until the password is reset, and the security advice sent).
8. The desk flags mailings that look compromised (sent straight to MX from the
   subscriber's own address, a login used from foreign networks, random subjects,
   forged From lines). With automatic strikes on (ABUSE_AUTO_STRIKE), an eligible
   mailing so flagged is treated as rule 7 says, without waiting for staff: the
   account is secured, no strike is counted. Without automatic strikes, staff see
   the flag and decide; a bounce storm still suspends at once (rule 4).
9. What staff may decide on a mailing (``mailing_decisions``): a strike while it
   has none and is not closed as compromised or dismissed; mark compromised or
   dismiss only while no live strike stands (revoke it first); release or reject
   only a held batch; revoke a live strike.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction


class Reason(StrEnum):
    """Why a mailing is eligible. The values match ``Strike.Reason``."""

    COMPLAINTS = "complaints"
    BOGUS_ADDRESSES = "bogus_addresses"


class Outcome(StrEnum):
    """What the subscriber's live strikes lead to."""

    NONE = "none"
    WARN = "warn"
    FINAL_WARNING = "final_warning"
    SUSPEND = "suspend"


class Decision(StrEnum):
    """The decisions a mailing page can offer. The values are the URL segments."""

    STRIKE = "strike"
    COMPROMISED = "compromised"
    DISMISS = "dismiss"
    RELEASE = "release"
    REJECT = "reject"
    REVOKE = "revoke"


@dataclass(frozen=True)
class Eligibility:
    """Whether a mailing may get a strike, and why.

    ``reason`` is None when it may not. A bounce storm wins over complaints as the
    reason, because it is the one that suspends at once.
    """

    reason: Reason | None
    is_bounce_storm: bool

    @property
    def is_eligible(self) -> bool:
        return self.reason is not None


@dataclass(frozen=True)
class Verdict:
    live_strikes: int
    outcome: Outcome


def is_bounce_storm(
    *,
    hard_bounce_count: int,
    recipient_count: int | None,
    bogus_min: int,
    bogus_rate: float,
) -> bool:
    """Rule 3: enough hard bounces, both as a count and as a share of recipients.

    A recipient count of None or 0 is treated as unknown, so the count decides.
    """
    if hard_bounce_count < max(bogus_min, 1):
        return False
    if not recipient_count:
        return True
    # Exact arithmetic: 25 of 250 must be 10%, not a float a hair below it.
    return Fraction(hard_bounce_count, recipient_count) >= Fraction(str(bogus_rate))


def eligibility(
    *,
    complaint_count: int,
    hard_bounce_count: int,
    recipient_count: int | None,
    complaints_per_strike: int,
    bogus_min: int,
    bogus_rate: float,
) -> Eligibility:
    """Rules 2 and 3 for one mailing. A mailing with no complaints is never
    eligible on complaints, even if the setting is 0."""
    storm = is_bounce_storm(
        hard_bounce_count=hard_bounce_count,
        recipient_count=recipient_count,
        bogus_min=bogus_min,
        bogus_rate=bogus_rate,
    )
    if storm:
        return Eligibility(reason=Reason.BOGUS_ADDRESSES, is_bounce_storm=True)
    if complaint_count >= max(complaints_per_strike, 1):
        return Eligibility(reason=Reason.COMPLAINTS, is_bounce_storm=False)
    return Eligibility(reason=None, is_bounce_storm=False)


def is_live(*, issued_at: datetime, now: datetime, window: timedelta | None) -> bool:
    """Rule 5: a strike is live until it is ``window`` old (exactly that age is
    expired). Revocation is the caller's business: pass only unrevoked strikes."""
    return window is None or now - issued_at < window


def live_since(*, now: datetime, window: timedelta | None) -> datetime | None:
    """Rule 5 as a bound for a query: strikes issued after this instant are live
    (None: all are). Agrees with ``is_live`` at the boundary."""
    return None if window is None else now - window


def standing(*, live_strikes: int, limit: int) -> str:
    """How a subscriber stands, as staff and support say it: "2 of 3"."""
    return f"{live_strikes} of {max(limit, 1)}"


def verdict(
    *,
    issued_at: Sequence[datetime],
    now: datetime,
    limit: int,
    window: timedelta | None,
    bounce_storm: bool = False,
) -> Verdict:
    """Rules 4 to 6: what the subscriber's strikes lead to.

    ``issued_at`` holds the issue times of the subscriber's unrevoked strikes,
    including the one just issued. ``bounce_storm`` says the strike just issued
    was for a bounce storm, which suspends whatever the count.
    """
    live = sum(1 for t in issued_at if is_live(issued_at=t, now=now, window=window))
    if bounce_storm:
        return Verdict(live_strikes=live, outcome=Outcome.SUSPEND)
    return Verdict(
        live_strikes=live, outcome=outcome_for(live_strikes=live, limit=limit)
    )


def outcome_for(*, live_strikes: int, limit: int) -> Outcome:
    """Rule 6 alone: what a number of live strikes leads to."""
    limit = max(limit, 1)
    if live_strikes >= limit:
        return Outcome.SUSPEND
    if live_strikes == 0:
        return Outcome.NONE
    if live_strikes == limit - 1:
        return Outcome.FINAL_WARNING
    return Outcome.WARN


def window_from_days(days: int | None) -> timedelta | None:
    """ABUSE_STRIKE_WINDOW_DAYS as a window: unset or 0 means strikes never
    expire."""
    return timedelta(days=days) if days else None


def mailing_decisions(
    *, state: str, has_strike: bool, has_live_strike: bool
) -> frozenset[Decision]:
    """Rule 9: the decisions open on a mailing in ``state`` (``Mailing.State``
    values). The page offers exactly these; the services refuse the rest."""
    offered = set()
    closed = state in {"compromised", "dismissed"}
    if not has_strike and not closed:
        offered.add(Decision.STRIKE)
    if has_live_strike:
        offered.add(Decision.REVOKE)
    elif state in {"open", "held", "struck"}:
        offered.add(Decision.COMPROMISED)
    if state == "open" and not has_live_strike:
        offered.add(Decision.DISMISS)
    if state == "held":
        offered |= {Decision.RELEASE, Decision.REJECT}
    return frozenset(offered)


class AutoAction(StrEnum):
    """What the policy does on its own with an eligible mailing."""

    NONE = "none"
    STRIKE = "strike"
    SECURE = "secure"


def automatic_action(
    *, found: Eligibility, is_likely_compromised: bool, auto_strike: bool
) -> AutoAction:
    """Rules 4, 7 and 8: strike, secure the account, or leave it to staff."""
    if not found.is_eligible:
        return AutoAction.NONE
    if auto_strike and is_likely_compromised:
        return AutoAction.SECURE
    if found.is_bounce_storm or auto_strike:
        return AutoAction.STRIKE
    return AutoAction.NONE
