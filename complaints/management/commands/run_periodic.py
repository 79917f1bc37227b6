"""Enqueues the desk's periodic jobs: the pending-message sweep and, when an IMAP
mailbox is configured, the mailbox poll. One per deployment is enough; a second
one does no harm, because both jobs are safe to run twice."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand
from redis.exceptions import RedisError

from complaints import jobs


class Command(BaseCommand):
    help = "Enqueue the periodic jobs (sweep of pending messages, IMAP poll) forever."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=int, default=60, help="Seconds between rounds."
        )
        parser.add_argument(
            "--once", action="store_true", help="Enqueue one round and exit."
        )

    def handle(self, *args, interval: int, once: bool, **options):
        while True:
            try:
                jobs.inbound_sweep_job.delay()
                if settings.ABUSE_IMAP_HOST and hasattr(jobs, "imap_poll_job"):
                    jobs.imap_poll_job.delay()
            except RedisError as error:
                self.stderr.write(
                    f"Could not reach Redis ({error}); trying again later."
                )
            if once:
                return
            time.sleep(interval)
