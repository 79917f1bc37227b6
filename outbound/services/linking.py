"""Submissions to mailings, from the outbound side: a mailing that complaints or
bounces found carries trace tokens and relay queue ids (its MailingKey rows);
the submissions with those tokens or ids are its messages, and their recipients
are the mailing's real recipient count, the denominator of the bogus-address
rule. The policy is applied again with it, so a bounce storm is decided on the
real rate (and a suspension reaches the policy service through the status cache).

Safe to run any time: a linked submission is not linked again, and the count is
recomputed from the links, not added to.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum

from complaints.models import Mailing, MailingKey
from complaints.services.strikes import mailing_policy_apply
from outbound.models import Submission
from outbound.trace import trace_verify

logger = logging.getLogger(__name__)

# A queue id repeats; a submission is the mailing's only when it was decided near
# the time the mailing was seen.
QUEUE_ID_SLACK = timedelta(days=3)


def submissions_link(*, now: datetime, within: timedelta = timedelta(days=7)) -> int:
    """Link unlinked submissions to the recently seen mailings whose keys name
    them; returns how many were linked."""
    keys = MailingKey.objects.filter(
        kind__in=[MailingKey.Kind.TRACE, MailingKey.Kind.QUEUE_ID],
        mailing__last_seen__gte=now - within,
    ).select_related("mailing")
    linked, touched = 0, set()
    for key in keys.iterator(chunk_size=2000):
        found = _submissions_for_key(key)
        count = found.filter(mailing__isnull=True).update(mailing=key.mailing)
        if count:
            linked += count
            touched.add(key.mailing_id)
    for mailing_id in touched:
        mailing_recipients_update(mailing_id=mailing_id, now=now)
    return linked


def _submissions_for_key(key: MailingKey):
    if key.kind == MailingKey.Kind.TRACE:
        payload = trace_verify(key.value)
        if payload is None:
            return Submission.objects.none()
        return Submission.objects.filter(trace_token=key.value)
    mailing = key.mailing
    return Submission.objects.filter(
        queue_id=key.value,
        subscriber_id=mailing.subscriber_id,
        decided_at__gte=mailing.first_seen - QUEUE_ID_SLACK,
        decided_at__lte=mailing.last_seen + QUEUE_ID_SLACK,
    )


@transaction.atomic
def mailing_recipients_update(*, mailing_id: int, now: datetime) -> Mailing:
    """Set the mailing's recipient count from its submissions (and say so), then
    apply the policy with the real count."""
    mailing = Mailing.objects.select_for_update(no_key=True).get(pk=mailing_id)
    total = (
        Submission.objects.filter(mailing_id=mailing_id).aggregate(
            total=Sum("recipient_count")
        )["total"]
        or 0
    )
    if total and (
        mailing.recipient_count != total
        or mailing.recipient_source != Mailing.RecipientSource.OUTBOUND
    ):
        mailing.recipient_count = total
        mailing.recipient_source = Mailing.RecipientSource.OUTBOUND
        mailing.save(update_fields=["recipient_count", "recipient_source"])
        logger.info("mailing %s: %s recipients from submissions", mailing_id, total)
    mailing_policy_apply(mailing=mailing, now=now)
    return mailing
