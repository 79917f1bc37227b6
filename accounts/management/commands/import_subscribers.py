"""``manage.py import_subscribers FILE``: load or refresh subscribers from billing's CSV.

Thin: reads the file, shows progress, and leaves every decision to
accounts.services.imports.subscriber_import. The CSV format is described in
accounts/importing.py.
"""

import gc
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from accounts.importing import HeaderError, read_rows
from accounts.services.imports import BATCH_SIZE, ImportSummary, subscriber_import


class Command(BaseCommand):
    help = (
        "Create and update subscribers, their mail accounts and IP assignments from "
        "the billing system's CSV. Bad rows are reported and skipped whole; the exit "
        "status is 1 if there were any."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8), or - for standard input")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check every row against the database, write nothing",
        )
        parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help="rows per transaction"
        )

    def handle(self, *args, **options):
        path = options["file"]
        try:
            stream = (
                sys.stdin
                if path == "-"
                else open(path, newline="", encoding="utf-8-sig")
            )
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        with stream:
            total = None if path == "-" else _count_lines(path) - 1
            try:
                summary = self._import(stream, total=total, options=options)
            except HeaderError as exc:
                raise CommandError(f"{path}: {exc}") from exc
            except UnicodeDecodeError as exc:
                raise CommandError(f"{path} is not UTF-8: {exc}") from exc
        self._report(summary, dry_run=options["dry_run"])
        if summary.bad:
            # CommandError makes manage.py exit with status 1.
            raise CommandError(f"{summary.bad} bad row(s) not imported; see above")

    def _import(self, stream, *, total, options) -> ImportSummary:
        rows = read_rows(stream)
        # The import keeps file-wide maps of every account number and login, hundreds
        # of thousands of long-lived objects without reference cycles. Python's cycle
        # collector rescans them again and again, which cost about a third of a
        # 200,000-row run; reference counting still frees everything, so pause it.
        gc.disable()
        try:
            return self._run(rows, total=total, options=options)
        finally:
            gc.enable()

    def _run(self, rows, *, total, options) -> ImportSummary:
        with tqdm(
            rows,
            total=total,
            unit=" rows",
            file=sys.stderr,
            disable=options["verbosity"] == 0,
            dynamic_ncols=True,
        ) as progress:
            return subscriber_import(
                rows=progress,
                now=timezone.now(),
                dry_run=options["dry_run"],
                batch_size=options["batch_size"],
            )

    def _report(self, summary: ImportSummary, *, dry_run: bool) -> None:
        for problem in summary.problems:
            self.stderr.write(f"line {problem.line}: {problem.reason}")
        verb = "would be " if dry_run else ""
        text = (
            f"{summary.created} {verb}created, {summary.updated} {verb}updated, "
            f"{summary.unchanged} unchanged, {summary.bad} bad"
            + (" (dry run: nothing written)" if dry_run else "")
        )
        style = self.style.ERROR if summary.bad else self.style.SUCCESS
        self.stdout.write(style(text))


def _count_lines(path: str) -> int:
    """Lines in the file, for the progress bar's total (fast: no CSV parsing)."""
    with open(path, "rb") as handle:
        return sum(
            chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")
        )
