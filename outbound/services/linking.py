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
    them; returns how many were linked. A few queries per thousand keys."""
    keys = (
        MailingKey.objects.filter(
            kind__in=[MailingKey.Kind.TRACE, MailingKey.Kind.QUEUE_ID],
            mailing__last_seen__gte=now - within,
        )
        .values_list("kind", "value", "mailing_id", "mailing__subscriber_id")
        .order_by("pk")
    )
    windows = {}
    linked, touched = 0, set()
    for chunk in _chunks(keys.iterator(chunk_size=CHUNK), CHUNK):
        links = _links_for(chunk, windows)
        for mailing_id, submission_ids in links.items():
            count = Submission.objects.filter(
                pk__in=submission_ids, mailing__isnull=True
            ).update(mailing_id=mailing_id)
            if count:
                linked += count
                touched.add(mailing_id)
    for mailing_id in touched:
        mailing_recipients_update(mailing_id=mailing_id, now=now)
    return linked


CHUNK = 1000


def _chunks(rows, size: int):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _links_for(chunk: list, windows: dict) -> dict[int, list[int]]:
    """{mailing id: ids of unlinked submissions its keys name} for one chunk."""
    tokens = {v: m for kind, v, m, _s in chunk if kind == MailingKey.Kind.TRACE}
    queue = {}
    for kind, value, mailing_id, subscriber_id in chunk:
        if kind == MailingKey.Kind.QUEUE_ID:
            queue.setdefault(value, []).append((mailing_id, subscriber_id))
    links: dict[int, list[int]] = {}
    genuine = [t for t in tokens if trace_verify(t) is not None]
    for pk, token in Submission.objects.filter(
        trace_token__in=genuine, mailing__isnull=True
    ).values_list("pk", "trace_token"):
        links.setdefault(tokens[token], []).append(pk)
    if queue:
        _windows_load(windows, {m for pairs in queue.values() for m, _s in pairs})
    for pk, queue_id, subscriber_id, decided_at in Submission.objects.filter(
        queue_id__in=list(queue), mailing__isnull=True
    ).values_list("pk", "queue_id", "subscriber_id", "decided_at"):
        for mailing_id, owner in queue[queue_id]:
            first, last = windows[mailing_id]
            if (
                owner == subscriber_id
                and first - QUEUE_ID_SLACK <= decided_at <= last + QUEUE_ID_SLACK
            ):
                links.setdefault(mailing_id, []).append(pk)
                break
    return links


def _windows_load(windows: dict, mailing_ids: set[int]) -> None:
    wanted = mailing_ids - windows.keys()
    for pk, first, last in Mailing.objects.filter(pk__in=wanted).values_list(
        "pk", "first_seen", "last_seen"
    ):
        windows[pk] = (first, last)


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
