"""``manage.py bench_recording``: the CPU time per message of each step of the
ingest pipeline (parse, link, record, count, policy), in this process, on the
bench_ingest mix or on a simulated ISP mailbox.

Everything it writes is rolled back at the end, so it runs on any database
(an empty one, or one holding a large history) and gives the same figures
when run again. ``--profile FILE`` also writes cProfile statistics of the
processing. PostgreSQL only, as the workers' path is.
"""

import cProfile
import hashlib
import random
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from complaints.bench import decisions, phases, runner
from complaints.management.commands import bench_ingest
from complaints.models import InboundMessage
from complaints.services import ingest
from complaints.services.ingest import inbound_store_many

# The ISP settings a simulated mailbox's isp.env names, and how to read them.
_LIST_SETTINGS = (
    "ABUSE_ISP_DOMAINS",
    "ABUSE_RELAY_HOSTS",
    "ABUSE_MX_HOSTS",
    "ABUSE_WEBMAIL_CLIENTS",
)


class _Rollback(Exception):
    """Raised to undo everything the benchmark wrote."""


class Command(BaseCommand):
    help = "CPU time per message of each ingest step, in-process (PostgreSQL only)."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=5_000)
        parser.add_argument("--subscribers", type=int, default=10_000)
        parser.add_argument("--mailings", type=int, default=1_000)
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument(
            "--mailbox",
            type=Path,
            help="a simulate_isp directory: its subscribers, its mail and its "
            "isp.env settings instead of the bench_ingest mix",
        )
        parser.add_argument("--batch", type=int, default=settings.ABUSE_INGEST_BATCH)
        parser.add_argument("--profile", type=Path, help="write cProfile stats here")
        parser.add_argument(
            "--decisions",
            type=Path,
            help="write what became of every message (subscriber, mailing, state, "
            "note, evidence, the mailings' counters and signals) as JSON lines, "
            "mailings named by their first message, to compare two versions",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_recording measures PostgreSQL; set DATABASE_URL.")
        mailbox = options["mailbox"]
        overrides = _isp_settings(mailbox) if mailbox else {}
        try:
            with override_settings(**overrides), transaction.atomic():
                ids = self._mailbox(mailbox) if mailbox else self._mix(options)
                self._measure(ids, options["batch"], options["profile"])
                if options["decisions"]:
                    decisions.write(ids, options["decisions"])
                raise _Rollback
        except _Rollback:
            pass

    def _mix(self, options) -> list[int]:
        rng = random.Random(options["seed"])  # noqa: S311  (reproducible test data)
        maker = bench_ingest.Command()
        mailings = maker._population(rng, options["subscribers"], options["mailings"])
        raws = maker._messages(rng, mailings, options["messages"])
        stored = []
        for start in range(0, len(raws), 500):
            stored += inbound_store_many(
                raws=raws[start : start + 500], channel=InboundMessage.Channel.FILE
            )
        return [pk for pk, _created in stored]

    def _mailbox(self, directory: Path) -> list[int]:
        call_command("import_subscribers", str(directory / "subscribers.csv"))
        now = timezone.now()
        rows = []
        for path in runner.ordered_files(directory / "Maildir", "maildir", 0):
            raw = path.read_bytes()
            rows.append(
                InboundMessage(
                    raw=raw,
                    sha256=hashlib.sha256(raw).hexdigest(),
                    size=len(raw),
                    channel=InboundMessage.Channel.FILE,
                    received_at=now,
                )
            )
        existing = set(
            InboundMessage.objects.filter(
                sha256__in=[r.sha256 for r in rows]
            ).values_list("sha256", flat=True)
        )
        if existing:
            raise CommandError(
                f"{len(existing)} of the mailbox's messages are already stored here; "
                "use a database without them"
            )
        return [row.pk for row in InboundMessage.objects.bulk_create(rows)]

    def _measure(self, ids: list[int], batch: int, profile_path: Path | None) -> None:
        profiler = cProfile.Profile() if profile_path else None
        started = time.perf_counter()
        with phases.timed() as timings:
            if profiler:
                profiler.enable()
            for start in range(0, len(ids), batch):
                cpu, wall = time.process_time(), time.perf_counter()
                ingest.inbound_process_many(inbound_ids=ids[start : start + batch])
                timings.cpu["total"] += time.process_time() - cpu
                timings.wall["total"] += time.perf_counter() - wall
            if profiler:
                profiler.disable()
        elapsed = time.perf_counter() - started
        if profiler:
            profiler.dump_stats(str(profile_path))
        states = InboundMessage.objects.filter(pk__in=ids).values_list("state")
        counts = {}
        for (state,) in states:
            counts[state] = counts.get(state, 0) + 1
        self.stdout.write(
            f"{len(ids)} messages in batches of {batch}: {counts}; {elapsed:.1f} s "
            f"wall; load {_load()}"
        )
        self.stdout.write(f"{'step':<20}{'CPU µs/msg':>12}{'wall µs/msg':>13}")
        rows = timings.per_message(len(ids))
        for name, cpu, wall in rows:
            self.stdout.write(f"{name:<20}{cpu:>12.0f}{wall:>13.0f}")
        figures = dict((name, cpu) for name, cpu, _wall in rows)
        self.stdout.write(
            f"linking_recording_cpu_us_per_message={figures['linking+recording']:.0f} "
            f"total_cpu_us_per_message={figures['total']:.0f}"
        )


def _isp_settings(directory: Path) -> dict:
    values = runner.read_env_file(directory / "isp.env")
    found = {
        name: [v.strip() for v in values[name].split(",") if v.strip()]
        for name in _LIST_SETTINGS
        if name in values
    }
    if "ABUSE_TRACE_HEADER" in values:
        found["ABUSE_TRACE_HEADER"] = values["ABUSE_TRACE_HEADER"]
    found["ABUSE_AUTO_STRIKE"] = True
    return found


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"
