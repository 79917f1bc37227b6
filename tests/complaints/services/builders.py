"""Rows for the corrections tests: mailings with their reports, as ingest would
have left them, and the three corrections called the way staff call them."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import Action
from complaints.models import Complaint, Mailing
from complaints.services import mailing_merge, mailing_split, reports_move
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    MailingFactory,
    StrikeFactory,
)

T0 = timezone.now().replace(microsecond=0) - timedelta(days=2)


def mailing_with(subscriber, *, complaints=0, hard=0, soft=0, at=T0, **fields):
    """A mailing of ``subscriber`` with linked complaints and bounces at ``at``;
    its counters say so, as ingest would have left them."""
    mailing = MailingFactory(
        subscriber=subscriber,
        first_seen=at,
        last_seen=at,
        complaint_count=complaints,
        hard_bounce_count=hard,
        soft_bounce_count=soft,
        **fields,
    )
    for _ in range(complaints):
        ComplaintFactory(
            subscriber=subscriber,
            mailing=mailing,
            state=Complaint.State.LINKED,
            received_at=at,
            subject=mailing.subject,
        )
    for is_hard, count in ((True, hard), (False, soft)):
        BounceFactory.create_batch(
            count,
            subscriber=subscriber,
            mailing=mailing,
            is_hard=is_hard,
            received_at=at,
        )
    return mailing


def struck(subscriber, *, at=T0, **fields):
    mailing = mailing_with(
        subscriber, complaints=1, at=at, state=Mailing.State.STRUCK, **fields
    )
    StrikeFactory(mailing=mailing, issued_at=at)
    return mailing


def actions(subscriber, kind=None):
    rows = Action.objects.filter(subscriber=subscriber).order_by("pk")
    return list(rows.filter(kind=kind) if kind else rows)


def merge(target, *sources, actor=None, reason="one newsletter"):
    return mailing_merge(target=target, sources=sources, actor=actor, reason=reason)


def move(target, complaints=(), bounces=(), reason="wrong campaign"):
    return reports_move(
        complaint_ids=[c.pk for c in complaints],
        bounce_ids=[b.pk for b in bounces],
        target=target,
        actor=None,
        reason=reason,
    )


def split(mailing, complaints=(), bounces=(), reason="two campaigns"):
    return mailing_split(
        mailing=mailing,
        complaint_ids=[c.pk for c in complaints],
        bounce_ids=[b.pk for b in bounces],
        actor=None,
        reason=reason,
    )
