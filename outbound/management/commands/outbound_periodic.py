"""Enqueues outbound control's periodic jobs: a drain of the submission stream
(the policy servers trigger one after writing; this catches any trigger lost),
the linking of submissions to mailings, and the retention purge. One per
deployment is enough; more do no harm, as every job is safe to run twice."""

import time

from django.core.management.base import BaseCommand
from redis.exceptions import RedisError

from outbound import jobs

PURGE_EVERY = 60  # rounds


class Command(BaseCommand):
    help = "Enqueue the outbound periodic jobs (drain, link, purge) forever."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=int, default=60)
        parser.add_argument("--once", action="store_true")

    def handle(self, *args, interval: int, once: bool, **options):
        rounds = 0
        while True:
            try:
                jobs.submissions_drain_job.delay()
                jobs.submissions_link_job.delay()
                if once or rounds % PURGE_EVERY == 0:
                    jobs.submissions_purge_job.delay()
            except RedisError as error:
                self.stderr.write(
                    f"Could not reach Redis ({error}); trying again later."
                )
            if once:
                return
            rounds += 1
            time.sleep(interval)
