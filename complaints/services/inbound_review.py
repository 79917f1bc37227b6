"""Staff's review of stored messages the pipeline could not use: reprocess one
and report what became of it, or discard it with a reason.

Neither deletes anything: a discarded message keeps its bytes and says who
discarded it, when and why (DESIGN.md: stored first, never deleted).
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from complaints.models import InboundMessage
from complaints.services.ingest import inbound_process_many
from complaints.services.wakeup import inbound_wake

logger = logging.getLogger(__name__)

# A message in one of these states may be sent through the pipeline again:
# failed ones once their cause is fixed, ignored ones after a parser change.
REPROCESSABLE = {InboundMessage.State.FAILED, InboundMessage.State.IGNORED}
DISCARDABLE = {InboundMessage.State.FAILED, InboundMessage.State.IGNORED}


@dataclass(frozen=True)
class Outcome:
    """What became of a reprocessed message, in words staff can act on."""

    state: str
    summary: str
    complaint_id: int | None = None
    bounce_count: int = 0


def inbound_reprocess(
    *, inbound: InboundMessage, now: datetime | None = None
) -> Outcome:
    """Return a failed or ignored message to pending and process it at once, so
    the page that asked can say what happened.

    The state guard makes a second click (or a worker that picks the same
    message up) harmless: only the call that moved it to pending processes it,
    and processing itself is idempotent. When the database fails mid-way the
    message stays pending and goes back on the queue, where RQ retries it.
    """
    with transaction.atomic():
        moved = InboundMessage.objects.filter(
            pk=inbound.pk, state__in=REPROCESSABLE
        ).update(state=InboundMessage.State.PENDING, error="")
    if moved:
        try:
            inbound_process_many(inbound_ids=[inbound.pk], now=now)
        except DatabaseError:
            logger.exception("reprocessing %s failed; queued instead", inbound.pk)
            inbound_wake()
    return inbound_outcome(
        inbound=InboundMessage.objects.defer("raw").get(pk=inbound.pk)
    )


@transaction.atomic
def inbound_requeue(*, inbound: InboundMessage) -> bool:
    """Return a failed message to pending and queue it for a worker (the
    operator's bulk path, ``inbound_requeue --failed``). Returns whether it was
    failed; a second call finds it pending and does nothing."""
    moved = InboundMessage.objects.filter(
        pk=inbound.pk, state=InboundMessage.State.FAILED
    ).update(state=InboundMessage.State.PENDING, error="")
    if moved:
        transaction.on_commit(inbound_wake, robust=True)
    return bool(moved)


def inbound_outcome(*, inbound: InboundMessage) -> Outcome:
    """Describe a stored message's present state (a read; lives here beside the
    reprocess that needs it)."""
    state = inbound.state
    if state == InboundMessage.State.PROCESSED:
        complaint = inbound.complaints.only("pk", "reference").first()
        bounces = inbound.bounces.count()
        if complaint is not None:
            summary = f"Processed: complaint {complaint.reference} recorded."
        elif bounces:
            summary = (
                f"Processed: {bounces} bounce{'s' if bounces != 1 else ''} recorded."
            )
        else:
            summary = "Processed."
        return Outcome(
            state=state,
            summary=summary,
            complaint_id=complaint.pk if complaint else None,
            bounce_count=bounces,
        )
    if state == InboundMessage.State.IGNORED:
        return Outcome(
            state=state, summary=f"Ignored: {inbound.error or 'nothing to record.'}"
        )
    if state == InboundMessage.State.FAILED:
        return Outcome(state=state, summary=f"Failed again: {inbound.error}")
    if state == InboundMessage.State.DISCARDED:
        return Outcome(state=state, summary="Discarded.")
    return Outcome(state=state, summary="Queued: a worker will process it shortly.")


@transaction.atomic
def inbound_discard(
    *,
    inbound: InboundMessage,
    actor: AbstractBaseUser,
    reason: str,
    now: datetime | None = None,
) -> InboundMessage:
    """Mark a failed or ignored message as looked at and not to be recorded.

    The row and its bytes stay. Discarding a message already discarded changes
    nothing (the first reason stands); any other state is refused, since a
    processed message has rows that depend on it.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why the message is discarded.")
    locked = (
        InboundMessage.objects.select_for_update(no_key=True)
        .defer("raw")
        .get(pk=inbound.pk)
    )
    if locked.state == InboundMessage.State.DISCARDED:
        return locked
    if locked.state not in DISCARDABLE:
        raise ValidationError(
            f"Message #{locked.pk} is {locked.get_state_display().lower()}; "
            "only failed or ignored messages can be discarded."
        )
    locked.state = InboundMessage.State.DISCARDED
    locked.discarded_at = now or timezone.now()
    locked.discarded_by = actor if actor.is_authenticated else None
    locked.discard_reason = reason[:2000]
    locked.save(
        update_fields=["state", "discarded_at", "discarded_by", "discard_reason"]
    )
    return locked
