"""Store one message read from standard input: the MTA pipe channel.

Use it as a pipe transport (Postfix ``pipe(8)``, Exim ``pipe``) or from a
``.forward`` / aliases entry. The exit status follows sysexits.h, which both
MTAs understand:

- 0: the message is committed (a redelivery of the same bytes is also 0);
- 75 EX_TEMPFAIL: it could not be stored (database down, any other error while
  storing). The MTA keeps it in its queue and retries, so nothing is lost;
- 65 EX_DATAERR: empty input, or larger than ABUSE_INGEST_MAX_BYTES. No retry
  could fix either, so the MTA bounces it. For an oversize message that is the
  better failure: it stays in the sender's hands (the bounce carries its headers)
  instead of being retried for days or silently cut short.

The content never makes it refuse: unparseable mail is stored, and processing
marks it failed later for staff to look at. On success it writes nothing,
because some MTAs treat any output from a pipe as a failure (Exim's
``return_output``).
"""

import logging
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from complaints.exceptions import IngestError
from complaints.models import InboundMessage
from complaints.services import inbound_store

logger = logging.getLogger(__name__)

# libpq waits forever for an unreachable server by default; an MTA pipe must
# fail fast with EX_TEMPFAIL instead, and the MTA retries later.
CONNECT_TIMEOUT_SECONDS = "10"


class Command(BaseCommand):
    help = (
        "Store one raw message from standard input (for an MTA pipe). Exit 0 when "
        "stored, 75 (EX_TEMPFAIL) when it cannot be stored, 65 (EX_DATAERR) for "
        "empty or oversize input."
    )
    # The checks cost time on every delivered message and cannot change the answer.
    requires_system_checks = []

    def handle(self, *args, **options):
        # The environment wins when set; OPTIONS["connect_timeout"] wins over both.
        os.environ.setdefault("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECONDS)
        max_bytes = settings.ABUSE_INGEST_MAX_BYTES
        # One byte over the limit is enough to know the message is too large.
        raw = sys.stdin.buffer.read(max_bytes + 1)
        try:
            inbound, created = inbound_store(
                raw=raw, channel=InboundMessage.Channel.PIPE, max_bytes=max_bytes
            )
        except IngestError as error:
            raise CommandError(str(error), returncode=os.EX_DATAERR) from error
        except DatabaseError as error:
            logger.warning("pipe: cannot store (%s); the MTA will retry", error)
            raise CommandError(
                "Cannot store the message now (database unavailable); try again.",
                returncode=os.EX_TEMPFAIL,
            ) from error
        except Exception as error:
            # A bug must not bounce a complaint: the MTA keeps it until fixed.
            logger.exception("pipe: unexpected error while storing")
            raise CommandError(
                f"Cannot store the message now ({type(error).__name__}); try again.",
                returncode=os.EX_TEMPFAIL,
            ) from error
        if options["verbosity"] > 1:
            self.stderr.write(
                f"{'stored' if created else 'already stored'} inbound {inbound.pk}"
            )
