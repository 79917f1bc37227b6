"""Reads for the subscriber pages that show strikes: the strike history with its
slots against the limit, and each found subscriber's standing ("2 of 3").

Here, not in accounts, because which strike is live is the policy's answer
(complaints/strikes.py, ABUSE_STRIKE_WINDOW_DAYS) and imports go one way:
complaints may read accounts, never the reverse (STYLE.md).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts.models import Action, Subscriber
from accounts.selectors import (
    HISTORY_LIMIT,
    MAILING_JSON_FIELDS,
    STATUS_KINDS,
    TIMELINE_LIMIT,
    subscriber_timeline,
)
from complaints import strikes as policy
from complaints.models import Strike
from complaints.selectors import live_strike_q

# What a row of a mailing list shows (subscriber page, corrections box): the
# JSON columns stay unread.
MAILING_ROW_COLUMNS = (
    "subscriber",
    "subject",
    "last_seen",
    "state",
    "complaint_count",
    "hard_bounce_count",
)

# What each place on the way to the strike limit leads to, in words.
OUTCOME_WORDS = {
    policy.Outcome.NONE: "",
    policy.Outcome.WARN: "warning",
    policy.Outcome.FINAL_WARNING: "final warning",
    policy.Outcome.SUSPEND: "suspension",
}


@dataclass(frozen=True)
class HistoryEvent:
    """One line of the exported history."""

    when: datetime
    event: str
    mailing_date: datetime | None = None
    subject: str = ""
    reason: str = ""
    detail: str = ""


@dataclass(frozen=True)
class StrikeSlot:
    """One place on the way to the limit: the live strike that fills it (or
    None), and what reaching it leads to."""

    number: int
    strike: object | None
    outcome: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class StrikeHistory:
    """What a support rep reads, or sends a customer who asks why: the strikes
    with their mailings, the status changes, and every notice the customer got.

    Which strikes are live is the policy's answer (complaints/strikes.py), for
    ``now`` and the window and limit in force (ABUSE_STRIKE_WINDOW_DAYS,
    ABUSE_STRIKE_LIMIT, read when the history is built)."""

    subscriber: Subscriber
    strikes: list = field(default_factory=list)
    status_changes: list[Action] = field(default_factory=list)
    notices: list[Action] = field(default_factory=list)
    now: datetime | None = None
    window: timedelta | None = None
    limit: int = 3

    def is_live(self, strike) -> bool:
        if strike.revoked_at is not None:
            return False
        now = self.now or timezone.now()
        return policy.is_live(issued_at=strike.issued_at, now=now, window=self.window)

    @property
    def live_strikes(self) -> list:
        return [strike for strike in self.strikes if self.is_live(strike)]

    @property
    def live_strike_count(self) -> int:
        return len(self.live_strikes)

    @property
    def standing(self) -> str:
        """ "2 of 3" """
        return policy.standing(live_strikes=self.live_strike_count, limit=self.limit)

    @property
    def slots(self) -> list[StrikeSlot]:
        """The live strikes against the limit, oldest first, then the places
        still empty; each with what it leads to."""
        live = self.live_strikes
        limit = max(self.limit, 1)
        return [
            StrikeSlot(
                number=n,
                strike=live[n - 1] if n <= len(live) else None,
                outcome=OUTCOME_WORDS[policy.outcome_for(live_strikes=n, limit=limit)],
                expires_at=(
                    live[n - 1].issued_at + self.window
                    if self.window and n <= len(live)
                    else None
                ),
            )
            for n in range(1, max(limit, len(live)) + 1)
        ]

    def strike_state(self, strike) -> str:
        if strike.revoked_at:
            return "revoked"
        return "live" if self.is_live(strike) else "expired"

    @property
    def events(self) -> list[HistoryEvent]:
        """Strikes, revocations, status changes and notices, oldest first. Staff
        names are left out: the history is what the customer may be sent."""
        events = []
        for strike in self.strikes:
            mailing = strike.mailing
            events.append(
                HistoryEvent(
                    when=strike.issued_at,
                    event="Strike",
                    mailing_date=mailing.first_seen,
                    subject=mailing.subject,
                    reason=strike.get_reason_display(),
                    detail=self.strike_state(strike),
                )
            )
            if strike.revoked_at:
                events.append(
                    HistoryEvent(
                        when=strike.revoked_at,
                        event="Strike revoked",
                        mailing_date=mailing.first_seen,
                        subject=mailing.subject,
                        reason=strike.get_reason_display(),
                        detail=strike.revoke_reason,
                    )
                )
        for action in self.status_changes:
            events.append(
                HistoryEvent(
                    when=action.created_at,
                    event=action.get_kind_display(),
                    detail=action.reason,
                )
            )
        for action in self.notices:
            events.append(
                HistoryEvent(
                    when=action.notified_at or action.created_at,
                    event=f"Notice: {action.notice_label}",
                    reason=action.get_kind_display(),
                    detail="sent" if action.notified_at else "not sent yet",
                )
            )
        return sorted(events, key=lambda event: event.when)


def subscriber_strikes(*, subscriber: Subscriber) -> QuerySet:
    """Live and revoked strikes, newest first, with their mailings joined."""
    return subscriber.strikes.select_related("mailing").defer(
        *(f"mailing__{name}" for name in MAILING_JSON_FIELDS)
    )


def subscriber_mailings(*, subscriber: Subscriber) -> QuerySet:
    """The subscriber's mailings, most recently seen first, with only what the
    subscriber page shows of them."""
    return subscriber.mailings.only(*MAILING_ROW_COLUMNS)


def subscriber_history(
    *, subscriber: Subscriber, recent: list[Action] | None = None
) -> StrikeHistory:
    """The strike history: at most three indexed queries, whatever its length.

    ``recent`` is the page's timeline (newest first, at most TIMELINE_LIMIT
    entries); when it is shorter than the limit it is the whole timeline, and the
    status changes and notices are taken from it instead of queried again.
    """
    strikes = list(subscriber_strikes(subscriber=subscriber).order_by("issued_at"))
    rules = {
        "now": timezone.now(),
        "window": policy.window_from_days(settings.ABUSE_STRIKE_WINDOW_DAYS),
        "limit": settings.ABUSE_STRIKE_LIMIT,
    }
    if recent is not None and len(recent) < TIMELINE_LIMIT:
        oldest_first = list(reversed(recent))
        return StrikeHistory(
            **rules,
            subscriber=subscriber,
            strikes=strikes,
            status_changes=[a for a in oldest_first if a.kind in STATUS_KINDS],
            notices=[a for a in oldest_first if a.notice_template],
        )
    timeline = subscriber_timeline(subscriber=subscriber).order_by("created_at", "pk")
    return StrikeHistory(
        **rules,
        subscriber=subscriber,
        strikes=strikes,
        status_changes=list(timeline.filter(kind__in=STATUS_KINDS)[:HISTORY_LIMIT]),
        notices=list(timeline.exclude(notice_template="")[:HISTORY_LIMIT]),
    )


def subscriber_standings(
    *, subscribers: Iterable[Subscriber], now: datetime | None = None
) -> dict[int, str]:
    """Each subscriber's live strikes against the limit ("2 of 3"), by primary
    key; one grouped query on the strikes, whatever the number of subscribers."""
    ids = [subscriber.pk for subscriber in subscribers]
    live = dict(
        Strike.objects.filter(live_strike_q(now=now or timezone.now()))
        .filter(subscriber_id__in=ids)
        .values_list("subscriber_id")
        .annotate(live=Count("pk"))
        .order_by()
    )
    limit = settings.ABUSE_STRIKE_LIMIT
    return {
        pk: policy.standing(live_strikes=live.get(pk, 0), limit=limit) for pk in ids
    }
