"""Put stuck inbound messages back on the processing queue.

Without options it does what the periodic sweep does: re-enqueue messages left
pending longer than ABUSE_PENDING_SWEEP_MINUTES (a lost Redis job, a worker that
was down). ``--pending-older-than`` picks another age; ``--failed`` also sends
failed messages through the pipeline again, e.g. after a parser fix. Safe to run
any time: a job for a message that is no longer pending does nothing.
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from complaints import selectors
from complaints.services import inbound_requeue, inbound_sweep


class Command(BaseCommand):
    help = "Re-enqueue pending messages older than a few minutes, and optionally failed ones."

    def add_arguments(self, parser):
        parser.add_argument(
            "--failed",
            action="store_true",
            help="Also reprocess every failed message.",
        )
        parser.add_argument(
            "--pending-older-than",
            type=int,
            metavar="MINUTES",
            help="Age of the pending messages to re-enqueue "
            "(default: ABUSE_PENDING_SWEEP_MINUTES).",
        )

    def handle(self, *args, failed: bool, pending_older_than: int | None, **options):
        now = timezone.now()
        if pending_older_than is not None:
            # inbound_sweep takes messages received before now minus the sweep
            # age; shifting "now" makes that cutoff now minus the asked age.
            now += timedelta(
                minutes=settings.ABUSE_PENDING_SWEEP_MINUTES - pending_older_than
            )
        pending = inbound_sweep(now=now)
        self.stdout.write(f"Re-enqueued {pending} pending messages.")
        if failed:
            count = 0
            for inbound in selectors.inbound_failed_list().only("pk").iterator():
                inbound_requeue(inbound=inbound)
                count += 1
            self.stdout.write(f"Re-enqueued {count} failed messages.")
