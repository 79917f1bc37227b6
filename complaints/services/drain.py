"""Draining the stored queue: what a worker does when it is woken up.

The pending ``InboundMessage`` rows are the queue. A drainer claims the oldest
batch no other worker holds (``inbound_process_next``: ``FOR UPDATE SKIP
LOCKED``), processes and commits it, and claims again, so a thousand single
arrivals cost a few dozen batch transactions, and drainers on several hosts
never take the same row. Each batch is its own transaction with the guarantees
of ``ingest.inbound_process_many``: a poisoned message is isolated and marked
failed, a database error rolls its batch back and propagates for RQ to retry,
and a second run writes nothing twice.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings

from complaints.services.ingest import inbound_process_next
from complaints.services.wakeup import inbound_wake, inbound_wake_clear

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrainResult:
    batches: int
    messages: int
    # False when the time budget ran out with messages left (a fresh job goes on).
    is_empty: bool


def inbound_drain(
    *,
    batch_size: int | None = None,
    budget_seconds: float | None = None,
    linger_seconds: float | None = None,
    idle_seconds: float | None = None,
) -> DrainResult:
    """Process pending messages batch after batch, ABUSE_INGEST_BATCH at a time,
    until the queue has stayed empty for ABUSE_INGEST_IDLE_SECONDS or the time
    budget (ABUSE_INGEST_DRAIN_SECONDS) is spent.

    After a batch that was not full it waits ABUSE_INGEST_LINGER_SECONDS before
    the next claim: mail arriving a message at a time then fills batches instead
    of costing a transaction each, for at most that much delay.

    It first clears the wake-up key, so arrivals from now on wake another worker
    (see ``wakeup``); a full batch means more are waiting, and wakes one too.
    Safe to run any number of times, on any number of workers at once.
    """
    batch_size = batch_size or settings.ABUSE_INGEST_BATCH
    if budget_seconds is None:
        budget_seconds = settings.ABUSE_INGEST_DRAIN_SECONDS
    if linger_seconds is None:
        linger_seconds = settings.ABUSE_INGEST_LINGER_SECONDS
    if idle_seconds is None:
        idle_seconds = settings.ABUSE_INGEST_IDLE_SECONDS
    deadline = time.monotonic() + budget_seconds
    inbound_wake_clear()
    batches = messages = 0
    empty_since = None
    while True:
        states = inbound_process_next(limit=batch_size)
        now = time.monotonic()
        if states:
            empty_since = None
            batches += 1
            messages += len(states)
        else:
            empty_since = empty_since or now
            if now - empty_since >= idle_seconds or now >= deadline:
                break
        if now >= deadline:
            # Hand over to a fresh job rather than hold this one for ever: the
            # RQ job timeout stays far away and the work horse is renewed.
            inbound_wake(force=True)
            logger.info("drained %s in %s batches; handed over", messages, batches)
            return DrainResult(batches=batches, messages=messages, is_empty=False)
        if len(states) >= batch_size:
            inbound_wake()
        elif linger_seconds:
            time.sleep(linger_seconds)
    if messages:
        logger.info("drained %s messages in %s batches", messages, batches)
    return DrainResult(batches=batches, messages=messages, is_empty=True)
