"""The desk's clock: enqueues the periodic jobs (the pending-message sweep and,
when an IMAP mailbox is configured, the mailbox poll) and moves retried jobs
back to their queues when their back-off is over (``abusedesk.retry_scheduler``).

One per deployment is enough; a second one does no harm: both periodic jobs are
safe to run twice, and RQ's per-queue lock lets one scheduler move each queue's
retries. Without any, a failed job waiting for its retry stays waiting (the
sweep still finds the stored messages it was about).
"""

import time

import django_rq
from django.conf import settings
from django.core.management.base import BaseCommand
from redis.exceptions import RedisError

from abusedesk.retry_scheduler import RetryScheduler
from complaints import jobs

# How often due retries are looked for: RQ's own scheduler looks every second.
SCHEDULER_TICK_SECONDS = 1.0


class Command(BaseCommand):
    help = (
        "Enqueue the periodic jobs (sweep of pending messages, IMAP poll) and"
        " move due retries back to their queues, forever."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=int, default=60, help="Seconds between rounds."
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Enqueue one round, move the retries due now, and exit.",
        )

    def handle(self, *args, interval: int, once: bool, **options):
        scheduler = RetryScheduler(
            settings.RQ_QUEUES, connection=django_rq.get_connection("default")
        )
        next_round = time.monotonic()
        self._redis_is_down = False
        try:
            while True:
                if time.monotonic() >= next_round:
                    next_round = time.monotonic() + interval
                    self._enqueue_round()
                try:
                    scheduler.tick()
                    self._redis_is_down = False
                except RedisError as error:
                    self._redis_down(error)
                if once:
                    return
                time.sleep(SCHEDULER_TICK_SECONDS)
        finally:
            try:
                scheduler.stop()
            except RedisError as error:
                # The locks then expire by themselves within a minute.
                self._redis_down(error)

    def _enqueue_round(self) -> None:
        try:
            jobs.inbound_sweep_job.delay()
            if settings.ABUSE_IMAP_HOST and hasattr(jobs, "imap_poll_job"):
                jobs.imap_poll_job.delay()
        except RedisError as error:
            self._redis_down(error)

    def _redis_down(self, error: RedisError) -> None:
        # Said once an outage, not once a tick.
        if not self._redis_is_down:
            self.stderr.write(f"Could not reach Redis ({error}); trying again later.")
        self._redis_is_down = True
