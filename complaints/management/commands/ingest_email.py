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
marks it failed later for staff to look at. On success it writes nothing, not
even a warning logged on the way (Redis down: the sweep enqueues the message
later), because some MTAs treat any output from a pipe as a failure (Exim's
``return_output``); set ABUSE_PIPE_LOG_FILE to keep those records.
"""

import contextlib
import logging
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from complaints.exceptions import IngestError, MessageTooLargeError
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
        # One byte over the limit is enough to know the message is too large;
        # the rest is only counted, so the error can state the real size.
        raw = sys.stdin.buffer.read(max_bytes + 1)
        if len(raw) > max_bytes:
            size = len(raw) + _drain(sys.stdin.buffer)
            error = MessageTooLargeError(size, max_bytes)
            raise CommandError(str(error), returncode=os.EX_DATAERR)
        with _quiet_logging() as held:
            inbound, created = self._store(raw, max_bytes, held)
        if options["verbosity"] > 1:
            self.stderr.write(
                f"{'stored' if created else 'already stored'} inbound {inbound.pk}"
            )

    def _store(self, raw: bytes, max_bytes: int, held: "_Held"):
        try:
            return inbound_store(
                raw=raw, channel=InboundMessage.Channel.PIPE, max_bytes=max_bytes
            )
        except IngestError as error:
            held.replay()
            raise CommandError(str(error), returncode=os.EX_DATAERR) from error
        except DatabaseError as error:
            held.replay()
            logger.warning("pipe: cannot store (%s); the MTA will retry", error)
            raise CommandError(
                "Cannot store the message now (database unavailable); try again.",
                returncode=os.EX_TEMPFAIL,
            ) from error
        except Exception as error:
            held.replay()
            # A bug must not bounce a complaint: the MTA keeps it until fixed.
            logger.exception("pipe: unexpected error while storing")
            raise CommandError(
                f"Cannot store the message now ({type(error).__name__}); try again.",
                returncode=os.EX_TEMPFAIL,
            ) from error


def _drain(stream, chunk: int = 1 << 20) -> int:
    total = 0
    while data := stream.read(chunk):
        total += len(data)
    return total


class _Held(logging.Handler):
    """Keeps the records logged while storing, instead of the handlers that
    would print them: a message that was stored must produce no output (an
    MTA may count any output as failure), so its records go to
    ABUSE_PIPE_LOG_FILE when set, else nowhere; a failure prints them after
    all, with the error the MTA puts in its bounce or log."""

    def __init__(self, replaced: list[logging.Handler]) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.replaced = replaced
        self.released = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.released:
            for handler in self.replaced:
                handler.handle(record)
        else:
            self.records.append(record)

    def replay(self) -> None:
        """From now on (and for what was kept) log as usual."""
        self.released = True
        for record in self.records:
            for handler in self.replaced:
                handler.handle(record)
        self.records.clear()

    def keep_quietly(self) -> None:
        path = getattr(settings, "ABUSE_PIPE_LOG_FILE", "")
        if not self.records or not path:
            return
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        try:
            for record in self.records:
                handler.handle(record)
        finally:
            handler.close()


@contextlib.contextmanager
def _quiet_logging():
    root = logging.getLogger()
    printing = [
        h
        for h in root.handlers
        if isinstance(h, logging.StreamHandler)
        and not isinstance(h, logging.FileHandler)
    ]
    held = _Held(printing)
    for handler in printing:
        root.removeHandler(handler)
    root.addHandler(held)
    try:
        yield held
        held.keep_quietly()
    finally:
        root.removeHandler(held)
        for handler in printing:
            root.addHandler(handler)
