"""How strikes follow a staff correction of mailings (see ``corrections``): the
strike that moves to the mailing that absorbs its own, the live duplicates that
are revoked, and the note when a revocation takes the ground from under a
suspension. Callers own the transaction and hold the subscriber's and the
mailings' locks.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from accounts.models import Action, Subscriber
from accounts.services.timeline import action_record
from complaints import strikes
from complaints.models import Mailing, Strike
from complaints.selectors import strike_list_live
from complaints.services.corrections_plan import CLOSED_WITHOUT_STRIKE, StrikePlan
from complaints.services.strikes import strike_revoke


def strike_move(plan: StrikePlan, target: Mailing) -> None:
    """Give the target the absorbed mailing's live strike the plan chose. The row
    keeps its issue time and its timeline entries; the customer was told about it
    once and is not told again."""
    if plan.moved is None:
        return
    Strike.objects.filter(pk=plan.moved.pk).update(mailing=target)
    Mailing.objects.filter(pk=target.pk).exclude(
        state__in=CLOSED_WITHOUT_STRIKE
    ).update(state=Mailing.State.STRUCK)


def duplicates_revoke(
    plan: StrikePlan,
    survivor: Mailing,
    subscriber: Subscriber,
    actor: AbstractBaseUser | None,
    now: datetime,
) -> None:
    """Revoke the live duplicates (``strike_revoke`` writes each revocation on
    the timeline) and note a suspension that no longer rests on enough strikes.
    Never reinstates: that is staff's decision."""
    for strike in plan.revoked:
        before = _live_count(subscriber, now)
        strike_revoke(
            strike=strike,
            actor=actor,
            reason=f"duplicate of mailing #{survivor.pk} after merge",
            now=now,
        )
        after = _live_count(subscriber, now)
        subscriber.refresh_from_db(fields=["status"])
        if _suspension_rested_on(subscriber, strike, before, after):
            action_record(
                subscriber=subscriber,
                kind=Action.Kind.NOTE,
                actor=actor,
                reason=f"Live strikes went from {before} to {after} of "
                f"{settings.ABUSE_STRIKE_LIMIT}: the strike on mailing "
                f"#{strike.mailing_id} was revoked as a duplicate of mailing "
                f"#{survivor.pk} after merge, and the suspension rested on it. "
                "The account stays suspended until staff decide on reinstating it.",
                mailing=survivor,
                strike=strike,
            )


def _live_count(subscriber: Subscriber, now: datetime) -> int:
    days = settings.ABUSE_STRIKE_WINDOW_DAYS
    window = timedelta(days=days) if days else None
    issued = strike_list_live(subscriber_id=subscriber.pk).values_list(
        "issued_at", flat=True
    )
    return sum(strikes.is_live(issued_at=t, now=now, window=window) for t in issued)


def _suspension_rested_on(
    subscriber: Subscriber, strike: Strike, before: int, after: int
) -> bool:
    """Whether a suspension the strikes caused lost its footing: the revoked
    strike is the one that suspended, or the count fell below the limit."""
    if subscriber.status != Subscriber.Status.SUSPENDED:
        return False
    last = (
        Action.objects.filter(subscriber=subscriber, kind=Action.Kind.SUSPENSION)
        .order_by("-created_at", "-pk")
        .first()
    )
    if last is None or last.strike_id is None:
        return False  # suspended by staff's hand, not by strikes
    limit = settings.ABUSE_STRIKE_LIMIT
    return last.strike_id == strike.pk or before >= limit > after
