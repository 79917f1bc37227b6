"""``manage.py bench_linking``: how well the desk finds the subscriber and the
mailing of each report, on a simulated ISP mailbox with its truth.

Generates a mailbox (``simulator``) unless ``--dir`` is given, imports it into a
PostgreSQL database of its own through the real channel and two real RQ workers
with ``ABUSE_AUTO_STRIKE=1``, then scores the database against the truth (see
complaints/bench/figures.py). ``--score-only`` is the scoring step alone, on the
configured database; the full run calls it that way. Thin: the work is in
complaints/bench/.
"""

import json
import os
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

import simulator
from complaints.bench import figures, runner, scoring

ORDERS = ("maildir", "reversed", "shuffled")


class Command(BaseCommand):
    help = "Score attribution and mailing grouping on a simulated ISP mailbox."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--dir", type=Path, help="score this mailbox, do not generate"
        )
        parser.add_argument("--scale", choices=simulator.SCALES, default="default")
        parser.add_argument("--order", choices=ORDERS, default="maildir")
        parser.add_argument(
            "--compare-orders",
            action="store_true",
            help="import twice (Maildir order, then --order or reversed) and print "
            "the pairwise F1 between the two groupings",
        )
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--timeout", type=float, default=900)
        parser.add_argument(
            "--database-url", help="default: DATABASE_URL's name + _bench_linking"
        )
        parser.add_argument(
            "--score-only",
            action="store_true",
            help="only score the configured database",
        )
        parser.add_argument("--groups-out", type=Path)

    def handle(self, *args, **options):
        if options["score_only"]:
            self._score(options["dir"], options["groups_out"])
            return
        directory = options["dir"] or self._generate(options["seed"], options["scale"])
        base = options["database_url"] or os.environ.get("DATABASE_URL", "")
        if not base.startswith(("postgres://", "postgresql://")):
            raise CommandError("bench_linking needs PostgreSQL: set DATABASE_URL.")
        database_url = options["database_url"] or runner.bench_database_url(base)
        orders = [options["order"]]
        if options["compare_orders"]:
            second = options["order"] if options["order"] != "maildir" else "reversed"
            orders = ["maildir", second]
        groupings, summaries = [], []
        for order in orders:
            groups = directory / f"desk-groups-{order}.json"
            printed = self._run(directory, database_url, order, options, groups)
            self.stdout.write(printed, ending="")
            summaries.append(printed.strip().splitlines()[-1])
            groupings.append(json.loads(groups.read_text()))
        if len(groupings) == 2:
            first, other = groupings
            files = [
                f for f in first if first[f] is not None or other.get(f) is not None
            ]
            # A file without a desk mailing in the first run is a group of its own.
            truth = {
                f: first[f] if first[f] is not None else f"none:{f}" for f in files
            }
            _p, _r, f1 = scoring.pairwise(truth, {f: other.get(f) for f in files})
            self.stdout.write(
                f"order_stability_f1={f1:.4f} ({orders[0]} vs {orders[1]})"
            )

    def _generate(self, seed: int, scale: str) -> Path:
        directory = Path(settings.VAR_DIR) / "bench_linking" / f"seed-{seed}-{scale}"
        if directory.exists():
            shutil.rmtree(directory)
        started = time.monotonic()
        counts = simulator.generate(seed=seed, out=directory, scale=scale)
        self.stdout.write(
            f"generated {counts['files']} messages, {counts['mailings']} true mailings "
            f"in {time.monotonic() - started:.1f} s: {directory}"
        )
        return directory

    def _run(
        self, directory: Path, database_url: str, order: str, options, groups: Path
    ):
        run = runner.Run(
            directory=directory, database_url=database_url, workers=options["workers"],
            say=self.stdout.write,
        )  # fmt: skip
        total = sum(1 for _ in (directory / "Maildir").glob("*/*"))
        self.stdout.write(f"importing {total} messages in {order} order")
        try:
            run.prepare()
            run.start_workers()
            started = time.monotonic()
            run.import_mail(order, options["seed"])
            run.wait(total=total, timeout=options["timeout"])
            elapsed = time.monotonic() - started
        finally:
            run.stop()
        self.stdout.write(f"ingest_seconds={elapsed:.1f}")
        return run.score(groups)

    def _score(self, directory: Path | None, groups_out: Path | None) -> None:
        if directory is None:
            raise CommandError("--score-only needs --dir")
        lines, groups = figures.compute(directory)
        for name, value in lines:
            self.stdout.write(f"{name}={value}")
        if groups_out:
            groups_out.write_text(json.dumps(groups))
        self.stdout.write(figures.summary_line(lines))
