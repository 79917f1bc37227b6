"""Strikes and the staff decisions about a mailing: issue, revoke, compromised,
dismissed, and the automatic policy the ingest pipeline applies.

The rules come from ``complaints.strikes`` (pure); this module reads the ABUSE_*
settings at call time, takes the clock as ``now`` and writes the rows. Every public
function is one transaction and writes the timeline (Action). Each locks the
subscriber and then the mailing with SELECT ... FOR UPDATE, the order ingest uses,
so none of them can deadlock with another or with ingest; the one-to-one
Strike.mailing is the last line against a second strike. Repeating a call is
harmless: a struck mailing returns its strike, a revoked strike stays revoked, a
dismissed mailing stays dismissed.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Action, Subscriber
from accounts.services.status import (
    notice_send,
    subscriber_reinstate,
    subscriber_restrict,
    subscriber_suspend,
)
from accounts.services.timeline import action_record
from complaints import strikes
from complaints.models import Mailing, Strike
from complaints.selectors import strike_list_live

logger = logging.getLogger(__name__)

# A mailing in one of these states was judged by staff not to deserve a strike.
CLOSED_WITHOUT_STRIKE = frozenset({Mailing.State.COMPROMISED, Mailing.State.DISMISSED})
# Accounts that can still be warned; closed ones are left to staff.
WARNABLE = frozenset({Subscriber.Status.ACTIVE, Subscriber.Status.RESTRICTED})
COMPROMISE_REASON = (
    "Mail sent from your account looks like the work of someone else: a stolen "
    "password or an infected computer."
)


def _window() -> timedelta | None:
    return strikes.window_from_days(settings.ABUSE_STRIKE_WINDOW_DAYS)


def _user(actor: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return actor if actor is not None and actor.is_authenticated else None


def _lock(mailing_id: int) -> tuple[Mailing, Subscriber]:
    """Lock the subscriber, then the mailing: the order ingest locks them in, so a
    staff click and an ingest worker cannot deadlock."""
    owner_id = Mailing.objects.values_list("subscriber_id", flat=True).get(
        pk=mailing_id
    )
    subscriber = Subscriber.objects.select_for_update(no_key=True).get(pk=owner_id)
    mailing = Mailing.objects.select_for_update(no_key=True).get(pk=mailing_id)
    if mailing.subscriber_id != subscriber.pk:  # moved before the lock was taken
        return _lock(mailing_id)
    mailing.subscriber = subscriber
    return mailing, subscriber


def _has_live_strike(mailing: Mailing) -> bool:
    return Strike.objects.filter(mailing=mailing, revoked_at__isnull=True).exists()


def _eligibility(mailing: Mailing) -> strikes.Eligibility:
    return strikes.eligibility(
        complaint_count=mailing.complaint_count,
        hard_bounce_count=mailing.hard_bounce_count,
        recipient_count=mailing.recipient_count,
        complaints_per_strike=settings.ABUSE_COMPLAINTS_PER_STRIKE,
        bogus_min=settings.ABUSE_BOGUS_MIN,
        bogus_rate=settings.ABUSE_BOGUS_RATE,
    )


def mailing_reported_recipients(*, mailing: Mailing) -> int:
    """Distinct recipients the mailing's reports name: a lower bound of its
    recipients, for display only."""
    bounced = set(mailing.bounces.values_list("address", flat=True)[:100_000])
    complained = set(
        mailing.complaints.exclude(original_recipient="").values_list(
            "original_recipient", flat=True
        )[:100_000]
    )
    return len(bounced | {a.lower() for a in complained})


def _evidence(mailing: Mailing, found: strikes.Eligibility) -> str:
    """The evidence in words; it goes on the timeline and into the notice."""
    subject = mailing.subject if len(mailing.subject) <= 80 else mailing.subject[:77]
    what = f'Mailing #{mailing.pk} ("{subject}")'
    if found.reason == strikes.Reason.BOGUS_ADDRESSES:
        if mailing.recipient_count:
            return (
                f"{what} went to {mailing.hard_bounce_count} out of "
                f"{mailing.recipient_count} addresses that do not exist or can never "
                "receive mail (the recipient count is from the outbound records)."
            )
        # Reports only give a lower bound, never a denominator for the rate.
        return (
            f"{what} went to {mailing.hard_bounce_count} addresses that do not "
            "exist or can never receive mail (the number of recipients is unknown, "
            "so the count of hard bounces alone decided; the reports name at least "
            f"{mailing_reported_recipients(mailing=mailing)} recipients)."
        )
    count = mailing.complaint_count
    noun = "complaint" if count == 1 else "complaints"
    return f"{what} drew {count} {noun} from its recipients."


@transaction.atomic
def strike_issue(
    *,
    mailing: Mailing,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> Strike:
    """Issue the strike a mailing is eligible for, by staff's click or the policy.

    Writes the Strike, a ``strike`` Action, and then what the live strikes lead to:
    a warning, a final warning or a suspension, each with its notice after commit.
    A mailing that already has a strike (live or revoked) returns it and writes
    nothing. Refused for compromised or dismissed mailings and for mailings that
    are not eligible under the policy.
    """
    now = now or timezone.now()
    locked, _subscriber = _lock(mailing.pk)
    existing = Strike.objects.filter(mailing=locked).first()
    if existing is not None:
        mailing.state = locked.state
        return existing
    if locked.state in CLOSED_WITHOUT_STRIKE:
        raise ValidationError(
            f"This mailing was marked {locked.state}; it cannot get a strike."
        )
    found = _eligibility(locked)
    if not found.is_eligible:
        raise ValidationError(
            "This mailing has not drawn enough complaints or hard bounces for a strike."
        )
    strike = _strike_create(mailing=locked, found=found, actor=actor, now=now)
    mailing.state = locked.state
    return strike


def mailing_policy_due(*, mailing: Mailing) -> bool:
    """Whether ``mailing_policy_apply`` would issue an automatic strike, judged
    from the row as read, without locks. The ingest pipeline uses it to skip the
    locked check for the many mailings nothing is due on; the locked check stays
    the authority."""
    if mailing.state in CLOSED_WITHOUT_STRIKE:
        return False
    if mailing.state == Mailing.State.STRUCK:
        return _automatic_strike_to_undo(mailing)
    return _automatic_action(mailing) != strikes.AutoAction.NONE


def _automatic_strike_to_undo(mailing: Mailing) -> bool:
    """A strike the policy issued on its own before the mailing's later reports
    showed a compromised account: rule 8 secures the account instead."""
    return (
        settings.ABUSE_AUTO_STRIKE
        and mailing.is_likely_compromised
        and Strike.objects.filter(
            mailing=mailing, issued_by__isnull=True, revoked_at__isnull=True
        ).exists()
    )


def _automatic_action(mailing: Mailing) -> strikes.AutoAction:
    return strikes.automatic_action(
        found=_eligibility(mailing),
        is_likely_compromised=mailing.is_likely_compromised,
        auto_strike=settings.ABUSE_AUTO_STRIKE,
    )


@transaction.atomic
def mailing_policy_apply(
    *, mailing: Mailing, now: datetime | None = None
) -> Strike | None:
    """Apply the policy after a complaint or bounce was recorded on ``mailing``.

    A bounce storm always gets its strike (and so a suspension) at once; complaints
    do only when ABUSE_AUTO_STRIKE is on, otherwise staff issue it. Returns the
    mailing's strike, or None when there is none. Mailings staff closed as
    compromised or dismissed are left alone. Safe to call after every message.
    """
    now = now or timezone.now()
    locked, _subscriber = _lock(mailing.pk)
    existing = Strike.objects.filter(mailing=locked).first()
    if existing is not None and _automatic_strike_to_undo(locked):
        _strike_undo_for_compromise(strike=existing, now=now)
        locked.refresh_from_db(fields=["state"])
    elif existing is not None or locked.state in CLOSED_WITHOUT_STRIKE:
        return existing
    action = _automatic_action(locked)
    if action == strikes.AutoAction.SECURE:
        mailing_mark_compromised(
            mailing=locked,
            actor=None,
            reason=f"Likely compromised: {locked.compromise_reason}",
        )
        mailing.state = locked.state
        return None
    if action != strikes.AutoAction.STRIKE:
        return None
    found = _eligibility(locked)
    strike = _strike_create(mailing=locked, found=found, actor=None, now=now)
    mailing.state = locked.state
    return strike


def _strike_undo_for_compromise(*, strike: Strike, now: datetime) -> None:
    reason = (
        "Issued automatically before the mailing's later reports showed a "
        "compromised account; the account is secured instead (policy rule 8)."
    )
    try:
        strike_revoke(strike=strike, actor=None, reason=reason, reinstate=True, now=now)
    except ValidationError:
        # Still at the limit without it (or terminated): staff decide.
        strike_revoke(strike=strike, actor=None, reason=reason, now=now)


def _strike_create(
    *,
    mailing: Mailing,
    found: strikes.Eligibility,
    actor: AbstractBaseUser | None,
    now: datetime,
) -> Strike:
    """Write the strike on a locked mailing and apply its consequence."""
    try:
        with transaction.atomic():
            strike = Strike.objects.create(
                mailing=mailing,
                subscriber=mailing.subscriber,
                reason=found.reason,
                issued_at=now,
                issued_by=_user(actor),
            )
    except IntegrityError:
        # Only reachable by a writer that skipped the mailing lock.
        return Strike.objects.get(mailing=mailing)
    mailing.state = Mailing.State.STRUCK
    mailing.save(update_fields=["state"])
    evidence = _evidence(mailing, found)
    links = {"mailing": mailing, "strike": strike}
    action_record(
        subscriber=mailing.subscriber,
        kind=Action.Kind.STRIKE,
        actor=actor,
        reason=evidence,
        **links,
    )
    logger.info("strike %s issued on mailing %s", strike.pk, mailing.pk)
    _strike_consequence(
        subscriber=mailing.subscriber,
        found=found,
        evidence=evidence,
        actor=actor,
        now=now,
        links=links,
    )
    return strike


def _strike_consequence(
    *,
    subscriber: Subscriber,
    found: strikes.Eligibility,
    evidence: str,
    actor: AbstractBaseUser | None,
    now: datetime,
    links: dict,
) -> None:
    """Warn, give a final warning or suspend, as ``strikes.verdict`` says.

    Accounts that are already suspended or terminated get no warnings: they cannot
    send, and staff decide what happens to them.
    """
    limit = settings.ABUSE_STRIKE_LIMIT
    result = strikes.verdict(
        issued_at=list(
            strike_list_live(subscriber_id=subscriber.pk).values_list(
                "issued_at", flat=True
            )
        ),
        now=now,
        limit=limit,
        window=_window(),
        bounce_storm=found.is_bounce_storm,
    )
    count = f"Strike {result.live_strikes} of {limit}: {evidence}"
    if result.outcome == strikes.Outcome.SUSPEND:
        if found.is_bounce_storm:
            why = f"{count} Sending is suspended at once to protect the mail servers."
        else:
            why = f"{count} The limit is reached, so sending is suspended."
        subscriber_suspend(subscriber=subscriber, actor=actor, reason=why, **links)
        return
    if result.outcome == strikes.Outcome.NONE or subscriber.status not in WARNABLE:
        return
    if result.outcome == strikes.Outcome.FINAL_WARNING:
        kind, template = Action.Kind.FINAL_WARNING, "final_warning"
    else:
        kind, template = Action.Kind.WARNING, "warning"
    action = action_record(
        subscriber=subscriber,
        kind=kind,
        actor=actor,
        reason=count,
        notice_template=template,
        **links,
    )
    notice_send(action=action)


@transaction.atomic
def strike_revoke(
    *,
    strike: Strike,
    actor: AbstractBaseUser | None,
    reason: str,
    reinstate: bool = False,
    now: datetime | None = None,
) -> Strike:
    """Revoke a strike on appeal, keeping the row with who, when and why.

    The mailing goes back to ``open`` (it keeps its strike row, so it can never get
    another). With ``reinstate``, a suspended subscriber is reinstated too, unless
    the strikes still live reach the limit: then nothing is written and a
    ValidationError says so. Revoking a revoked strike writes nothing.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError("Give the reason for revoking the strike.")
    now = now or timezone.now()
    mailing, subscriber = _lock(strike.mailing_id)
    locked = Strike.objects.select_for_update(no_key=True).get(pk=strike.pk)
    if locked.revoked_at is not None:
        return locked
    should_reinstate = reinstate and _reinstatable(
        subscriber=subscriber, excluding=locked, now=now
    )
    locked.revoked_at, locked.revoked_by = now, _user(actor)
    locked.revoke_reason = reason
    locked.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    strike.revoked_at, strike.revoked_by = locked.revoked_at, locked.revoked_by
    strike.revoke_reason = reason
    if mailing.state == Mailing.State.STRUCK:
        mailing.state = Mailing.State.OPEN
        mailing.save(update_fields=["state"])
    links = {"mailing": mailing, "strike": locked}
    action_record(
        subscriber=subscriber,
        kind=Action.Kind.STRIKE_REVOKED,
        actor=actor,
        reason=reason,
        **links,
    )
    logger.info("strike %s revoked", locked.pk)
    if should_reinstate:
        subscriber_reinstate(
            subscriber=subscriber,
            actor=actor,
            reason=f"The strike on mailing #{mailing.pk} was revoked: {reason}",
            **links,
        )
    return locked


def _reinstatable(*, subscriber: Subscriber, excluding: Strike, now: datetime) -> bool:
    """Whether revoking ``excluding`` lets a suspended subscriber be reinstated."""
    if subscriber.status == Subscriber.Status.TERMINATED:
        raise ValidationError("A terminated account cannot be reinstated.")
    if subscriber.status != Subscriber.Status.SUSPENDED:
        return False
    limit = settings.ABUSE_STRIKE_LIMIT
    remaining = strikes.verdict(
        issued_at=list(
            strike_list_live(subscriber_id=subscriber.pk)
            .exclude(pk=excluding.pk)
            .values_list("issued_at", flat=True)
        ),
        now=now,
        limit=limit,
        window=_window(),
    )
    if remaining.outcome == strikes.Outcome.SUSPEND:
        raise ValidationError(
            f"{remaining.live_strikes} live strikes would remain, which is the limit "
            f"of {limit}; the account stays suspended."
        )
    return True


@transaction.atomic
def mailing_mark_compromised(
    *, mailing: Mailing, actor: AbstractBaseUser | None, reason: str = ""
) -> Mailing:
    """Staff judge the mailing the work of a stolen password or infected PC.

    No strike: the mailing becomes ``compromised``, an active account becomes
    ``restricted`` until its password reset is recorded, and the subscriber gets
    the security advice. A subscriber already suspended gets the advice but stays
    suspended; one already restricted or terminated gets a timeline note only.
    Refused while the mailing carries a live strike (revoke it first); a second
    call writes nothing.
    """
    locked, subscriber = _lock(mailing.pk)
    if locked.state != Mailing.State.COMPROMISED:
        if _has_live_strike(locked):
            raise ValidationError(
                "This mailing carries a strike; revoke it before marking the "
                "mailing compromised."
            )
        locked.state = Mailing.State.COMPROMISED
        locked.save(update_fields=["state"])
        _compromise_record(
            subscriber=subscriber,
            mailing=locked,
            actor=actor,
            reason=reason.strip() or COMPROMISE_REASON,
        )
    mailing.state = locked.state
    return locked


def _compromise_record(
    *,
    subscriber: Subscriber,
    mailing: Mailing,
    actor: AbstractBaseUser | None,
    reason: str,
) -> None:
    if subscriber_restrict(
        subscriber=subscriber, actor=actor, reason=reason, mailing=mailing
    ):
        return
    # Not restricted (already closed or restricted): the timeline still records it.
    advise = subscriber.status == Subscriber.Status.SUSPENDED
    action = action_record(
        subscriber=subscriber,
        kind=Action.Kind.NOTE,
        actor=actor,
        reason=f"Mailing #{mailing.pk} marked compromised: {reason}",
        notice_template="compromise_advice" if advise else "",
        mailing=mailing,
    )
    if advise:
        notice_send(action=action)


@transaction.atomic
def mailing_dismiss(
    *, mailing: Mailing, actor: AbstractBaseUser | None, reason: str
) -> Mailing:
    """Staff decide the mailing deserves no strike (say, a confirmed opt-in list).

    The mailing becomes ``dismissed`` and the policy leaves it alone from then on.
    Refused without a reason, while it carries a live strike, or when it is
    compromised; a second call writes nothing.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError("Give the reason for dismissing the mailing.")
    locked, subscriber = _lock(mailing.pk)
    if locked.state == Mailing.State.COMPROMISED:
        raise ValidationError("This mailing is already closed as compromised.")
    if locked.state != Mailing.State.DISMISSED:
        if _has_live_strike(locked):
            raise ValidationError(
                "This mailing carries a strike; revoke it before dismissing it."
            )
        locked.state = Mailing.State.DISMISSED
        locked.save(update_fields=["state"])
        action_record(
            subscriber=subscriber,
            kind=Action.Kind.MAILING_DISMISSED,
            actor=actor,
            reason=reason,
            mailing=locked,
        )
    mailing.state = locked.state
    return locked
