"""Poll the IMAP mailbox that the ABUSE_IMAP_* settings describe.

``--once`` polls one time (for cron or a test); without it the command polls
every ``--interval`` seconds until stopped. In a deployment with RQ,
``run_periodic`` enqueues ``imap_poll_job`` instead and this command is for
operators. Either way a poll stores nothing twice (see complaints/services/imap.py).
"""

import imaplib
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from complaints.services.imap import ImapPollError, imap_poll_configured

# A poll that fails for these reasons is tried again at the next interval.
POLL_ERRORS = (OSError, imaplib.IMAP4.error, ImapPollError, DatabaseError)


class Command(BaseCommand):
    help = "Fetch new messages from the ABUSE_IMAP_* mailbox and store them."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Poll once and exit.")
        parser.add_argument(
            "--interval", type=int, default=60, help="Seconds between polls."
        )

    def handle(self, *args, once: bool, interval: int, **options):
        if not settings.ABUSE_IMAP_HOST:
            raise CommandError("ABUSE_IMAP_HOST is not set; IMAP polling is off.")
        while True:
            try:
                result = imap_poll_configured()
            except POLL_ERRORS as error:
                if once:
                    raise CommandError(f"Poll failed: {error}") from error
                self.stderr.write(f"Poll failed ({error}); trying again later.")
            else:
                self.stdout.write(
                    f"Fetched {result.fetched}: stored {result.stored}, already "
                    f"stored {result.already_stored}, failed {result.failed}."
                )
            if once:
                return
            time.sleep(interval)
