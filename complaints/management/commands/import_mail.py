"""Import stored mail in bulk: mbox files, Maildir folders and .eml files.

Each PATH may be an mbox file, a single message file (.eml or any other file
that does not start with an mbox "From " line), a Maildir (a directory with
cur/ and new/), or a directory searched recursively for *.eml files.

Messages are stored with ``enqueue=False`` in transactions of BATCH_SIZE and
the workers woken after each commit, which is much faster than one transaction
per message. Re-running the same import stores nothing twice (the
unique SHA-256 in ``inbound_store``), so an interrupted import is simply run
again. A database error stops the import; a message that cannot be stored for
its own reasons (empty, too large, unreadable file) is reported and skipped.
"""

import argparse
import mailbox
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from complaints.exceptions import IngestError
from complaints.models import InboundMessage
from complaints.services import inbound_store, inbound_wake

BATCH_SIZE = 200
# Failures listed one by one in the summary; the rest are only counted.
MAX_LISTED_FAILURES = 50


@dataclass
class Source:
    """One message to import: a label for the summary and a way to read it."""

    label: str
    read: Callable[[], bytes]


@dataclass
class Summary:
    stored: int = 0
    existing: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


def _strip_from_line(raw: bytes) -> bytes:
    """Drop an mbox "From " envelope line: it is not part of the message
    (RFC 4155) and would make the same message hash differently."""
    if raw.startswith(b"From "):
        end = raw.find(b"\n")
        return b"" if end < 0 else raw[end + 1 :]
    return raw


def _mbox_message(box: mailbox.mbox, key: int) -> bytes:
    raw = box.get_bytes(key)  # without its "From " line
    # mailbox drops the blank line that separates messages only when it is a
    # bare LF; in a CRLF mbox the separator CRLF is still at the end.
    if raw.endswith(b"\r\n\r\n"):
        raw = raw[:-2]
    return raw


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def _sources(path: Path) -> Iterator[Source]:
    if path.is_dir() and _is_maildir(path):
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(box.keys()):
            yield Source(f"{path}:{key}", lambda box=box, key=key: box.get_bytes(key))
    elif path.is_dir():
        for eml in sorted(p for p in path.rglob("*") if p.suffix.lower() == ".eml"):
            yield Source(str(eml), lambda eml=eml: _strip_from_line(eml.read_bytes()))
    elif _is_mbox(path):
        box = mailbox.mbox(path, factory=None, create=False)
        for index, key in enumerate(box.keys(), start=1):
            yield Source(
                f"{path}#{index}", lambda box=box, key=key: _mbox_message(box, key)
            )
    else:
        yield Source(str(path), lambda path=path: _strip_from_line(path.read_bytes()))


class Command(BaseCommand):
    help = (
        "Import mbox files, Maildir folders and .eml files (or directories of them). "
        "Already stored messages are skipped, so an import can be run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            help="Show a progress bar on stderr (default: when stderr is a terminal).",
        )

    def handle(self, *args, paths: list[Path], progress: bool | None, **options):
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise CommandError(f"No such file or directory: {', '.join(missing)}")
        try:
            sources = [source for path in paths for source in _sources(path)]
        except (OSError, mailbox.Error) as error:
            raise CommandError(f"Cannot read {error}") from error
        summary = Summary()
        if options["verbosity"] == 0:
            progress = False
        # disable=None: tqdm shows the bar only when stderr is a terminal.
        bar = tqdm(
            total=len(sources),
            unit="msg",
            file=sys.stderr,
            disable=None if progress is None else not progress,
        )
        # Log lines are written above the bar instead of through it.
        with bar, logging_redirect_tqdm(tqdm_class=tqdm):
            try:
                for start in range(0, len(sources), BATCH_SIZE):
                    batch = sources[start : start + BATCH_SIZE]
                    self._import_batch(batch, summary)
                    bar.update(len(batch))
            except DatabaseError as error:
                self._report(summary)
                raise CommandError(
                    f"Database error, import stopped ({error}). Run it again to resume."
                ) from error
        self._report(summary)

    def _import_batch(self, batch: list[Source], summary: Summary) -> None:
        created_ids: list[int] = []
        existing = 0
        failures: list[tuple[str, str]] = []
        max_bytes = settings.ABUSE_INGEST_MAX_BYTES
        with transaction.atomic():
            for source in batch:
                try:
                    inbound, created = inbound_store(
                        raw=source.read(),
                        channel=InboundMessage.Channel.FILE,
                        max_bytes=max_bytes,
                        enqueue=False,
                    )
                except (IngestError, OSError) as error:
                    failures.append((source.label, str(error)))
                    continue
                if created:
                    created_ids.append(inbound.pk)
                else:
                    existing += 1
        # Counted only once the batch is committed: a rolled-back batch stored nothing.
        summary.stored += len(created_ids)
        summary.existing += existing
        summary.failures.extend(failures)
        if created_ids:
            inbound_wake()

    def _report(self, summary: Summary) -> None:
        self.stdout.write(
            f"Stored {summary.stored}, already there {summary.existing}, "
            f"failed {len(summary.failures)}."
        )
        for label, reason in summary.failures[:MAX_LISTED_FAILURES]:
            self.stdout.write(f"  failed {label}: {reason}")
        hidden = len(summary.failures) - MAX_LISTED_FAILURES
        if hidden > 0:
            self.stdout.write(f"  … and {hidden} more failures.")
