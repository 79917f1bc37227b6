"""Claiming a batch of the stored queue, and what becomes of a batch whose worker
died while processing it.

A batch is processed in one transaction (``ingest._process_batch``). When the
work horse dies inside it (the kernel's OOM killer, RQ killing a job past its
time limit, a crash in a C library), PostgreSQL rolls the transaction back and
its messages are pending again, the one that killed the horse among them: left
at that, it would be claimed again and kill the next horse, for ever, and hold
the whole queue back. So the claim is committed first, on its own: an
``InboundClaim`` row naming the batch's messages, which the batch's own
transaction locks while it works and deletes when it commits.

A claim older than ABUSE_INGEST_CLAIM_LEASE_SECONDS that no transaction holds
belongs to a worker that died. The next claim takes it over: each of its
messages still pending counts one unfinished claim (``InboundMessage.claims``),
and one claimed ABUSE_INGEST_MAX_CLAIMS times without finishing is marked failed
with the reason, for staff to look at and reprocess. A message with an
unfinished claim is processed alone, so the one that kills workers takes no
other message down with it. Nothing here writes to a message in the normal
case: a batch costs one small row, inserted and deleted.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import takewhile

from django.conf import settings
from django.db import transaction
from django.db.models import F

from complaints.models import InboundClaim, InboundMessage

logger = logging.getLogger(__name__)

PENDING = InboundMessage.State.PENDING


@dataclass(frozen=True)
class Claim:
    pk: int
    inbound_ids: list[int]


def inbound_claim(*, limit: int, now: datetime) -> Claim | None:
    """Claim the oldest pending messages no other worker holds, at most
    ``limit`` of them and only one when it was claimed before without
    finishing; commit the claim and return it, or None when nothing is left.

    First takes over the claims of dead workers (``_dead_claims_take_over``).
    """
    with transaction.atomic():
        _dead_claims_take_over(now)
        for _attempt in range(3):
            rows = _candidates(limit)
            if not rows:
                return None
            # Another worker's claim committed since the first look: its rows
            # were unlocked in between (see ``_candidates``); look again.
            claimed = _claimed_ids()
            rows = [row for row in rows if row[0] not in claimed]
            if rows:
                break
        else:
            return None
        if rows[0][1]:
            ids = [rows[0][0]]
        else:
            ids = [pk for pk, _claims in takewhile(lambda row: not row[1], rows)]
        claim = InboundClaim.objects.create(inbound_ids=ids, claimed_at=now)
    return Claim(pk=claim.pk, inbound_ids=ids)


def _candidates(limit: int) -> list[tuple[int, int]]:
    """The oldest pending messages that no transaction holds and no claim names,
    with their unfinished claims, locked until the claim commits.

    A claimed batch's rows are unlocked between its claim's commit and its own
    transaction's first statement; the claims read before and after this query
    (``inbound_claim``) keep a second worker off them in that moment.
    """
    return list(
        InboundMessage.objects.select_for_update(skip_locked=True, no_key=True)
        .filter(state=PENDING)
        .exclude(pk__in=_claimed_ids())
        .order_by("pk")
        .values_list("pk", "claims")[:limit]
    )


def _claimed_ids() -> set[int]:
    # A handful of rows: one per batch being processed right now.
    return {
        pk
        for ids in InboundClaim.objects.values_list("inbound_ids", flat=True)
        for pk in ids
    }


def inbound_claim_hold(claim: Claim) -> bool:
    """Lock the claim for the batch's transaction (the caller's); False when it
    is gone, taken over as a dead worker's (a batch that waited past its lease
    before it began)."""
    return (
        InboundClaim.objects.select_for_update()
        .filter(pk=claim.pk)
        .values_list("pk", flat=True)
        .first()
        is not None
    )


def inbound_claim_done(claim: Claim) -> None:
    """Delete the claim, in the batch's transaction: it commits with the batch."""
    InboundClaim.objects.filter(pk=claim.pk).delete()


def _dead_claims_take_over(now: datetime) -> None:
    """Count one unfinished claim for every message still pending in a dead
    worker's claim, mark failed those claimed too often, and delete the claims.
    A live worker's claim is locked by its transaction and skipped."""
    lease = timedelta(seconds=settings.ABUSE_INGEST_CLAIM_LEASE_SECONDS)
    dead = list(
        InboundClaim.objects.select_for_update(skip_locked=True)
        .filter(claimed_at__lt=now - lease)
        .values_list("pk", "inbound_ids")
    )
    if not dead:
        return
    InboundClaim.objects.filter(pk__in=[pk for pk, _ids in dead]).delete()
    ids = sorted({pk for _claim, inbound_ids in dead for pk in inbound_ids})
    pending = InboundMessage.objects.filter(pk__in=ids, state=PENDING)
    unfinished = pending.update(claims=F("claims") + 1)
    limit = settings.ABUSE_INGEST_MAX_CLAIMS
    failed = pending.filter(claims__gte=limit).update(
        state=InboundMessage.State.FAILED,
        error=(
            f"Claimed {limit} times by a worker that died before finishing it "
            "(killed for memory or time, or crashed): processing this message "
            "may be what kills the worker. Reprocess it once that is fixed."
        ),
        processed_at=now,
        claims=0,
    )
    if unfinished:
        logger.error(
            "took over %s claims of dead workers: %s messages claimed again, "
            "%s marked failed after %s claims",
            len(dead),
            unfinished - failed,
            failed,
            limit,
        )
