"""Staff corrections of mailings (issue 9): merge mailings, move reports to another
mailing, split a mailing. The desk's grouping can be wrong both ways; staff fix it
here, and strikes follow.

- ``mailing_merge``: the sources' complaints, bounces and keys (Message-IDs, queue
  ids, trace tokens) go to the target. Each emptied source is closed, state
  ``dismissed`` with the reason "merged into #N", never deleted: strikes and the
  timeline reference it.
- ``reports_move``: selected complaints and bounces go to another mailing of the
  same subscriber, with the Message-ID keys only they carried; a mailing the move
  empties is closed as by a merge.
- ``mailing_split``: selected reports leave a mailing for a new one.

A merged mailing keeps at most one strike (``corrections_plan`` says which,
``corrections_strikes`` carries it out); a live duplicate is revoked with "duplicate of mailing #N after merge" on the
timeline. When that revocation takes a suspended account below the limit and the
suspension rested on strikes, a note says the count changed; the account stays
suspended, because reinstating is staff's decision. Move and split leave the
strikes of the mailings they do not empty where they are.

Each service is one transaction: it locks the subscriber, then the mailings in id
order (FOR NO KEY UPDATE, as everywhere in the desk), checks again under the locks,
moves the rows, recounts every mailing it touched from the rows, writes an Action
per mailing touched, and applies the strike policy to the ones still open, so a
split-off part that is now eligible is judged. A correction that is done already
writes nothing, so a repeated click or a replayed POST is harmless.
"""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Action, Subscriber
from accounts.services.timeline import action_record
from complaints.linking.subjects import subject_key
from complaints.models import Bounce, Complaint, Mailing, MailingKey
from complaints.services.corrections_plan import (
    CLOSED_WITHOUT_STRIKE,
    MERGED_INTO,
    SPLIT_FROM,
    MovePlan,
    StrikePlan,
    merge_plan,
    move_plan,
    split_plan,
)
from complaints.services.corrections_recount import mailings_recount
from complaints.services.corrections_strikes import duplicates_revoke, strike_move
from complaints.services.linking import KEY_LENGTH
from complaints.services.strikes import mailing_policy_apply

logger = logging.getLogger(__name__)


@transaction.atomic
def mailing_merge(
    *,
    target: Mailing,
    sources: Iterable[Mailing],
    actor: AbstractBaseUser | None,
    reason: str,
    now: datetime | None = None,
) -> Mailing:
    """Merge ``sources`` into ``target``, mailings of one subscriber.

    Writes a ``mailing_merged`` Action on the target and a ``mailing_dismissed``
    one on each source; strikes as the plan says. Refused for mailings of other
    subscribers, the target itself, held batches and strike conflicts. Sources
    merged into the target already are skipped; when none is left, nothing is
    written.
    """
    reason, now, sources = _reason(reason), now or timezone.now(), list(sources)
    merge_plan(target=target, sources=sources)  # refuse before taking any lock
    subscriber, locked = _lock([target.pk, *(s.pk for s in sources)])
    plan = merge_plan(target=locked[target.pk], sources=[locked[s.pk] for s in sources])
    target = plan.target
    if plan.is_done:
        return target
    ids = [s.pk for s in plan.sources]
    moved = (
        Complaint.objects.filter(mailing_id__in=ids).update(mailing=target),
        Bounce.objects.filter(mailing_id__in=ids).update(mailing=target),
    )
    _recipients_merge(target, plan.sources)
    _suspicion_merge(target, plan.sources)
    _absorb(plan.sources, plan.strikes, target, subscriber, actor)
    mailings_recount(mailing_ids=[target.pk, *ids])
    action_record(
        subscriber=subscriber,
        kind=Action.Kind.MAILING_MERGED,
        actor=actor,
        reason=f"Mailing(s) {_numbers(plan.sources)} merged into #{target.pk} "
        f"({moved[0]} complaint(s), {moved[1]} bounce(s)): {reason}",
        mailing=target,
        strike=plan.strikes.survivor,
    )
    duplicates_revoke(plan.strikes, target, subscriber, actor, now)
    logger.info("mailings %s merged into %s", ids, target.pk)
    _policy_apply([target.pk], now)
    target.refresh_from_db()
    return target


@transaction.atomic
def reports_move(
    *,
    complaint_ids: Iterable[int],
    bounce_ids: Iterable[int],
    target: Mailing,
    actor: AbstractBaseUser | None,
    reason: str,
    now: datetime | None = None,
) -> Mailing:
    """Move complaints and bounces to ``target``, a mailing of their subscriber.

    Writes a ``reports_moved`` Action on the target and on each mailing the
    reports left. Reports already on the target are left alone; when none is
    left to move, nothing is written.
    """
    reason, now = _reason(reason), now or timezone.now()
    complaint_ids, bounce_ids = list(complaint_ids), list(bounce_ids)
    first = move_plan(complaint_ids=complaint_ids, bounce_ids=bounce_ids, target=target)
    subscriber, locked = _lock([target.pk, *(m.pk for m in first.origins)])
    plan = move_plan(
        complaint_ids=complaint_ids, bounce_ids=bounce_ids, target=locked[target.pk]
    )
    _refuse_changed(plan, locked)
    target = plan.target
    if plan.is_done:
        return target
    _transfer(plan, target)
    _absorb(plan.emptied, plan.strikes, target, subscriber, actor)
    emptied = [m.pk for m in plan.emptied]
    origins = [m.pk for m in plan.origins]
    mailings_recount(mailing_ids=[target.pk, *origins])
    what = f"{len(plan.complaints)} complaint(s) and {len(plan.bounces)} bounce(s)"
    _record(
        subscriber,
        Action.Kind.REPORTS_MOVED,
        actor,
        {target: f"{what} moved here from {_numbers(plan.origins)}: {reason}"}
        | {
            m: f"{_share(plan, m)} moved to #{target.pk}: {reason}"
            for m in plan.origins
        },
    )
    duplicates_revoke(plan.strikes, target, subscriber, actor, now)
    logger.info("reports moved from %s to %s", origins, target.pk)
    _policy_apply([target.pk, *(pk for pk in origins if pk not in emptied)], now)
    target.refresh_from_db()
    return target


@transaction.atomic
def mailing_split(
    *,
    mailing: Mailing,
    complaint_ids: Iterable[int],
    bounce_ids: Iterable[int],
    actor: AbstractBaseUser | None,
    reason: str,
    now: datetime | None = None,
) -> Mailing:
    """Split the selected reports off ``mailing`` into a new mailing, returned.

    The new mailing is learned ``manual``ly, open, with the subject and sender of
    its oldest complaint, and the suspicion of the mailing it came from. Writes a
    ``mailing_split`` Action on both. The strike of ``mailing``, if any, stays.
    Repeating a split that is done returns the mailing it made and writes nothing.
    """
    reason, now = _reason(reason), now or timezone.now()
    complaint_ids, bounce_ids = list(complaint_ids), list(bounce_ids)
    split_plan(mailing=mailing, complaint_ids=complaint_ids, bounce_ids=bounce_ids)
    subscriber, locked = _lock([mailing.pk])
    origin = locked[mailing.pk]
    plan = split_plan(
        mailing=origin, complaint_ids=complaint_ids, bounce_ids=bounce_ids
    )
    if plan.done_as is not None:
        return plan.done_as
    new = _mailing_new(origin, plan)
    _transfer(plan, new)
    mailings_recount(mailing_ids=[origin.pk, new.pk])
    what = f"{len(plan.complaints)} complaint(s) and {len(plan.bounces)} bounce(s)"
    _record(
        subscriber,
        Action.Kind.MAILING_SPLIT,
        actor,
        {
            origin: f"{what} split off into the new mailing #{new.pk}: {reason}",
            new: f"Split off mailing #{origin.pk} with {what}: {reason}",
        },
    )
    logger.info("mailing %s split into %s", origin.pk, new.pk)
    _policy_apply([origin.pk, new.pk], now)
    new.refresh_from_db()
    return new


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give the reason for the correction.")
    return reason


def _lock(mailing_ids: list[int]) -> tuple[Subscriber, dict[int, Mailing]]:
    """Lock the subscriber, then the mailings in id order; the order every writer
    in the desk takes its locks in, so none of them can deadlock with this."""
    owners = dict(
        Mailing.objects.filter(pk__in=mailing_ids).values_list("pk", "subscriber_id")
    )
    missing = sorted(set(mailing_ids) - set(owners))
    if missing:
        raise ValidationError(f"There is no mailing #{missing[0]}.")
    if len(set(owners.values())) != 1:
        raise ValidationError("These mailings belong to different subscribers.")
    subscriber = Subscriber.objects.select_for_update(no_key=True).get(
        pk=next(iter(owners.values()))
    )
    locked = {
        m.pk: m
        for m in Mailing.objects.select_for_update(no_key=True)
        .filter(pk__in=owners)
        .order_by("pk")
    }
    if any(m.subscriber_id != subscriber.pk for m in locked.values()):
        raise ValidationError("A mailing changed hands meanwhile; try again.")
    for mailing in locked.values():
        mailing.subscriber = subscriber
    return subscriber, locked


def _refuse_changed(plan: MovePlan, locked: dict[int, Mailing]) -> None:
    # Reports relinked between the first look and the locks may sit on a mailing
    # this transaction did not lock.
    if any(m.pk not in locked for m in plan.origins):
        raise ValidationError("The selected reports moved meanwhile; try again.")


def _transfer(plan: MovePlan, target: Mailing) -> None:
    """Move the plan's reports to ``target``, with the Message-ID keys that only
    they carried (a key shared with a report left behind stays)."""
    complaint_ids = [c.pk for c in plan.complaints]
    bounce_ids = [b.pk for b in plan.bounces]
    message_ids = {r.message_id[:KEY_LENGTH] for r in (*plan.complaints, *plan.bounces)}
    message_ids.discard("")
    Complaint.objects.filter(pk__in=complaint_ids).update(mailing=target)
    Bounce.objects.filter(pk__in=bounce_ids).update(mailing=target)
    origins = [m.pk for m in plan.origins]
    staying = {
        value[:KEY_LENGTH]
        for model in (Complaint, Bounce)
        for value in model.objects.filter(
            mailing_id__in=origins, message_id__in=message_ids
        ).values_list("message_id", flat=True)
    }
    MailingKey.objects.filter(
        mailing_id__in=origins,
        kind=MailingKey.Kind.MESSAGE_ID,
        value__in=message_ids - staying,
    ).update(mailing=target)


def _mailing_new(origin: Mailing, plan: MovePlan) -> Mailing:
    oldest = min(
        (c for c in plan.complaints if c.subject),
        key=lambda c: (c.received_at, c.pk),
        default=None,
    )
    subject = oldest.subject if oldest else origin.subject
    return Mailing.objects.create(
        subscriber=origin.subscriber,
        sender=((oldest.header_from or oldest.mail_from) if oldest else "")[:254]
        or origin.sender,
        subject=subject,
        normalized_subject=subject_key(subject),
        kind=origin.kind,
        first_seen=origin.first_seen,  # the recount sets the real window
        last_seen=origin.first_seen,
        source=Mailing.Source.MANUAL,
        is_likely_compromised=origin.is_likely_compromised,
        compromise_reason=origin.compromise_reason,
        signals={SPLIT_FROM: origin.pk},
    )


def _recipients_merge(target: Mailing, sources: Iterable[Mailing]) -> None:
    """Outbound recipient counts add up when every merged mailing has one;
    otherwise the merged count is unknown (a partial sum would understate the
    recipients and overstate the bounce rate)."""
    group = [target, *sources]
    if all(
        m.recipient_source == Mailing.RecipientSource.OUTBOUND
        and m.recipient_count is not None
        for m in group
    ):
        count, source = sum(m.recipient_count for m in group), target.recipient_source
    else:
        count, source = None, Mailing.RecipientSource.REPORTS
    Mailing.objects.filter(pk=target.pk).update(
        recipient_count=count, recipient_source=source
    )


def _suspicion_merge(target: Mailing, sources: Iterable[Mailing]) -> None:
    """A merged incident is suspected of compromise when any part of it was, or
    was judged compromised by staff; the target keeps its own reason if it has
    one."""
    if target.is_likely_compromised:
        return
    for source in sources:
        if source.is_likely_compromised or source.state == Mailing.State.COMPROMISED:
            why = source.compromise_reason or (
                f"mailing #{source.pk}, merged into this one, was marked compromised"
            )
            Mailing.objects.filter(pk=target.pk).update(
                is_likely_compromised=True, compromise_reason=why[:255]
            )
            return


def _absorb(
    emptied: Iterable[Mailing],
    strikes: StrikePlan,
    target: Mailing,
    subscriber: Subscriber,
    actor: AbstractBaseUser | None,
) -> None:
    """Finish mailings a correction emptied into ``target``: their keys and the
    strike the plan chose go to it, and each is closed, with a marker that keeps
    later corrections from using it."""
    emptied = list(emptied)
    MailingKey.objects.filter(mailing__in=emptied).update(mailing=target)
    strike_move(strikes, target)
    for mailing in emptied:
        signals = {**(mailing.signals or {}), MERGED_INTO: target.pk}
        Mailing.objects.filter(pk=mailing.pk).update(
            state=Mailing.State.DISMISSED, signals=signals
        )
        action_record(
            subscriber=subscriber,
            kind=Action.Kind.MAILING_DISMISSED,
            actor=actor,
            reason=f"merged into #{target.pk}",
            mailing=mailing,
        )


def _policy_apply(mailing_ids: list[int], now: datetime) -> None:
    for mailing in Mailing.objects.filter(pk__in=mailing_ids).order_by("pk"):
        if mailing.state not in CLOSED_WITHOUT_STRIKE:
            mailing_policy_apply(mailing=mailing, now=now)


def _record(
    subscriber: Subscriber,
    kind: str,
    actor: AbstractBaseUser | None,
    reasons: dict[Mailing, str],
) -> None:
    for mailing, reason in reasons.items():
        action_record(
            subscriber=subscriber,
            kind=kind,
            actor=actor,
            reason=reason,
            mailing=mailing,
        )


def _share(plan: MovePlan, mailing: Mailing) -> str:
    complaints = sum(1 for c in plan.complaints if c.mailing_id == mailing.pk)
    bounces = sum(1 for b in plan.bounces if b.mailing_id == mailing.pk)
    return f"{complaints} complaint(s) and {bounces} bounce(s)"


def _numbers(mailings: Iterable[Mailing]) -> str:
    return ", ".join(f"#{m.pk}" for m in mailings)
