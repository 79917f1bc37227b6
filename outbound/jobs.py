"""RQ entry points for outbound control. Thin: each calls one service.

Every job is safe to run twice: the drain's rows are unique and its stream
entries acknowledged only after commit; a queue command already done is not run
again; linking recomputes counts instead of adding to them.
"""

from django.utils import timezone
from django_rq import job
from rq import Retry

from outbound.services import drain, holds, linking

RETRY = Retry(max=3, interval=[10, 60, 300])


@job("default", retry=RETRY)
def submissions_drain_job() -> None:
    """Submission records from the stream into rows, then link them."""
    summary = drain.submissions_drain()
    if summary.submissions:
        linking.submissions_link(now=timezone.now())


@job("default", retry=RETRY)
def submissions_link_job() -> None:
    linking.submissions_link(now=timezone.now())


@job("default", retry=RETRY)
def submissions_purge_job() -> None:
    drain.submissions_purge(now=timezone.now())


@job("default", retry=RETRY)
def queue_command_job(submission_id: int, operation: str) -> None:
    holds.queue_command_run(submission_id=submission_id, operation=operation)
