"""RQ entry points for the ingest pipeline. Thin: each loads ids and calls a service.

Every job is safe to run twice: ``inbound_drain`` claims only pending messages no
other worker holds, and ``inbound_process`` returns at once for a message that
is no longer pending. Transient errors (database, network) propagate so RQ
retries with backoff; ``run_periodic`` puts a retried job back on its queue
when its interval is over (``abusedesk.retry_scheduler``).
"""

import dataclasses
import logging

from django_rq import job
from rq import Retry

from complaints import services
from complaints.services import imap

logger = logging.getLogger(__name__)

RETRY = Retry(max=3, interval=[30, 120, 600])


@job("ingest", retry=RETRY)
def inbound_drain_job() -> dict[str, int | bool]:
    """Process what is pending, batch after batch: the wake-up every channel
    sends (``services.wakeup``). Returns what it did, for the RQ dashboard."""
    return dataclasses.asdict(services.inbound_drain())


@job("ingest", retry=RETRY)
def inbound_process_job(inbound_id: int) -> None:
    services.inbound_process(inbound_id=inbound_id)


@job("ingest", retry=RETRY)
def inbound_process_batch_job(inbound_ids: list[int]) -> None:
    """Process several given stored messages in one transaction (jobs enqueued
    before the drain existed, and operators' own calls)."""
    services.inbound_process_many(inbound_ids=inbound_ids)


@job("default", retry=RETRY)
def complaints_acknowledge_job(complaint_ids: list[int]) -> None:
    """Send the acknowledgments still due; each is claimed before it is sent, so a
    retried job never mails anyone twice."""
    for complaint_id in complaint_ids:
        services.notices.complaint_acknowledge(complaint_id=complaint_id)


@job("default")
def inbound_sweep_job() -> None:
    services.inbound_sweep()


@job("default")
def imap_poll_job() -> None:
    """Poll the configured IMAP mailbox once. Not retried: the next periodic
    round polls again, and a poll stores nothing twice (see services.imap)."""
    imap.imap_poll_configured()
