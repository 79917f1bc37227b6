"""Staff triage of complaints: linking, dismissing, marking duplicates.

Held batches are released or rejected in one place, ``outbound.services.holds``.

A mailing's ``complaint_count`` is the number of its complaints in state
``linked``; every function here that moves a complaint in or out of that state
adjusts the count in the same transaction, under a lock on the mailing.
"""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Subscriber
from complaints.models import Complaint, Mailing
from complaints.services.strikes import mailing_policy_apply


def _count(mailing_id: int | None, delta: int) -> None:
    if mailing_id is not None and delta:
        Mailing.objects.filter(pk=mailing_id).update(
            complaint_count=F("complaint_count") + delta
        )


def _locked(complaint: Complaint) -> Complaint:
    return Complaint.objects.select_for_update(no_key=True).get(pk=complaint.pk)


@transaction.atomic
def complaint_link(
    *,
    complaint: Complaint,
    mailing: Mailing,
    actor: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Link a complaint to a mailing (and so to its subscriber). Linking it where
    it already is changes nothing."""
    # Subscriber first, then mailing: the order ingest and the strike services
    # lock in, so a staff click and a worker cannot deadlock.
    Subscriber.objects.select_for_update(no_key=True).filter(
        pk=mailing.subscriber_id
    ).first()
    complaint = _locked(complaint)
    mailing = Mailing.objects.select_for_update(no_key=True).get(pk=mailing.pk)
    if complaint.mailing_id == mailing.pk and complaint.state == Complaint.State.LINKED:
        return complaint
    if complaint.state == Complaint.State.LINKED:
        _count(complaint.mailing_id, -1)
    complaint.mailing = mailing
    complaint.subscriber_id = mailing.subscriber_id
    complaint.state = Complaint.State.LINKED
    who = actor.get_username() if actor is not None else "system"
    complaint.link_note = f"linked by {who}"[:255]
    complaint.save(update_fields=["mailing", "subscriber", "state", "link_note"])
    _count(mailing.pk, +1)
    mailing.refresh_from_db()
    mailing_policy_apply(mailing=mailing, now=now or timezone.now())
    return complaint


@transaction.atomic
def complaint_unlink(
    *, complaint: Complaint, actor: AbstractBaseUser | None = None
) -> Complaint:
    """Take a complaint off its mailing and subscriber; it waits in triage again.
    A strike already issued stays until staff revoke it."""
    complaint = _locked(complaint)
    if complaint.mailing_id is None and complaint.subscriber_id is None:
        return complaint
    if complaint.state == Complaint.State.LINKED:
        _count(complaint.mailing_id, -1)
    complaint.mailing = None
    complaint.subscriber = None
    complaint.state = Complaint.State.NEW
    who = actor.get_username() if actor is not None else "system"
    complaint.link_note = f"unlinked by {who}"[:255]
    complaint.save(update_fields=["mailing", "subscriber", "state", "link_note"])
    return complaint


def _close(
    complaint: Complaint, state: str, actor: AbstractBaseUser | None
) -> Complaint:
    complaint = _locked(complaint)
    if complaint.state == state:
        return complaint
    if complaint.state == Complaint.State.LINKED:
        _count(complaint.mailing_id, -1)
    complaint.state = state
    who = actor.get_username() if actor is not None else "system"
    complaint.link_note = f"{state} by {who}"[:255]
    complaint.save(update_fields=["state", "link_note"])
    return complaint


@transaction.atomic
def complaint_dismiss(
    *, complaint: Complaint, actor: AbstractBaseUser | None = None
) -> Complaint:
    """Dismiss a complaint: kept as a record, counted nowhere."""
    return _close(complaint, Complaint.State.DISMISSED, actor)


@transaction.atomic
def complaint_mark_duplicate(
    *, complaint: Complaint, actor: AbstractBaseUser | None = None
) -> Complaint:
    """Mark a complaint as a repeat of another: evidence, not counted again."""
    return _close(complaint, Complaint.State.DUPLICATE, actor)


BULK_ACTIONS = {"dismiss", "duplicate", "link"}


@transaction.atomic
def complaints_bulk_update(
    *,
    complaints: Iterable[Complaint],
    action: str,
    actor: AbstractBaseUser | None,
    mailing: Mailing | None = None,
) -> int:
    """Apply one triage action to many complaints; returns how many changed state
    or link. All or nothing."""
    if action not in BULK_ACTIONS:
        raise ValidationError(f"Unknown action {action!r}.")
    if action == "link" and mailing is None:
        raise ValidationError("Choose the mailing to link the complaints to.")
    changed = 0
    for complaint in complaints:
        before = (complaint.state, complaint.mailing_id)
        if action == "dismiss":
            after = complaint_dismiss(complaint=complaint, actor=actor)
        elif action == "duplicate":
            after = complaint_mark_duplicate(complaint=complaint, actor=actor)
        else:
            after = complaint_link(complaint=complaint, mailing=mailing, actor=actor)
        changed += (after.state, after.mailing_id) != before
    return changed
