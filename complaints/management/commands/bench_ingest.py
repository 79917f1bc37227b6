"""End-to-end ingest benchmark: from LMTP arrival to linked rows, with the
workers started as the README says production runs them.

It creates a population (subscribers with logins, mailings with known
Message-IDs), generates a mix of feedback reports, forwarded complaints and
bounces about those mailings, starts N ``rqworker ingest default``
(the forking worker), ``run_periodic`` and ``lmtp_server``, then delivers the
messages over LMTP on several connections at once, as an MTA does, and times
from the first delivery to the last message processed. It prints the messages
per second, the delivery rate alone, the workers' peak resident memory (work
horses included) and their CPU time from the first delivery on (what they
spent starting, once per process, is printed apart), and ends with one line
of key=value pairs for ``make bench``.

PostgreSQL only. A database that already holds inbound messages is refused
unless ``--keep-history``: then the benchmark adds only the population its own
messages need (a history made by ``populate_scale`` stays as it is) and says how
many complaints the history held and whether its tables were vacuumed.
"""

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import django_rq
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone
from rq import Worker

from accounts.models import MailAccount, Subscriber
from complaints.bench import lmtp_load
from complaints.models import Bounce, Complaint, InboundMessage, Mailing, MailingKey
from complaints.services.wakeup import inbound_wake_clear

BOUNCE_STATUSES = [
    ("5.1.1", "550 5.1.1 <{a}>: Recipient address rejected: User unknown"),
    ("5.2.2", "552 5.2.2 <{a}>: Mailbox full"),
    ("4.4.1", "451 4.4.1 Connection timed out"),
    ("5.7.1", "554 5.7.1 Service unavailable; Client host blocked using zen.example"),
]
POLL_SECONDS = 0.25
HISTORY_TABLES = (Complaint, InboundMessage, MailingKey)


class Command(BaseCommand):
    help = (
        "Measure ingest from LMTP arrival to linked rows, with forking RQ workers "
        "as in production (PostgreSQL only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=20_000)
        parser.add_argument("--subscribers", type=int, default=10_000)
        parser.add_argument("--mailings", type=int, default=1_000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument(
            "--connections",
            type=int,
            default=8,
            help="LMTP connections delivering at once (default 8).",
        )
        parser.add_argument(
            "--lmtp-threads",
            type=int,
            default=1,
            help="lmtp_server --threads (default 1, as lmtp_server).",
        )
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument(
            "--keep-history",
            action="store_true",
            help="Run on a database that already holds messages (e.g. made by "
            "populate_scale), adding only this run's own population.",
        )
        parser.add_argument(
            "--force", action="store_true", help="The older name of --keep-history."
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=1800.0,
            help="Seconds to wait for the last message before giving up.",
        )
        parser.add_argument(
            "--analyze-every",
            type=float,
            default=20.0,
            help="Seconds between ANALYZE of the ingest tables during the run, as "
            "autovacuum would do (0: never; this machine's PostgreSQL runs "
            "without autovacuum, so the planner's row counts go stale).",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_ingest measures PostgreSQL; set DATABASE_URL.")
        keep = options["keep_history"] or options["force"]
        if not keep and InboundMessage.objects.exists():
            raise CommandError(
                "This database already has inbound messages; use --keep-history."
            )
        history = Complaint.objects.count()
        vacuumed = _vacuumed()
        rng = random.Random(options["seed"])  # noqa: S311  (reproducible test data)
        mailings = self._population(rng, options["subscribers"], options["mailings"])
        messages = self._messages(rng, mailings, options["messages"])
        first_pk = InboundMessage.objects.aggregate(top=Max("pk"))["top"] or 0
        self.stdout.write(
            f"history: {history} complaints (vacuumed: {vacuumed}); "
            f"{len(messages)} messages to deliver"
        )
        run = _Run(options, first_pk, len(messages), self.stdout)
        try:
            run.start_processes()
            run.measure(messages)
        finally:
            run.stop_processes()
        self._report(run, options, history, vacuumed)

    def _report(self, run, options, history: int, vacuumed: str) -> None:
        ours = InboundMessage.objects.filter(pk__gt=run.first_pk)
        states = dict(ours.values_list("state").annotate(n=Count("pk")))
        batches = ours.values("processed_at").distinct().count()
        elapsed = run.elapsed
        delivery = run.delivery
        rate = run.done / elapsed if elapsed else 0.0
        lmtp_rate = delivery.delivered / max(delivery.finished - delivery.started, 1e-9)
        load = Path("/proc/loadavg").read_text().split()[:3]
        cpu_ms = 1000 * run.worker_cpu / run.done if run.done else 0.0
        self.stdout.write(
            f"ingest: {run.done} messages in {elapsed:.1f} s = {rate:.0f} messages/s "
            f"from LMTP arrival to linked rows, {options['workers']} forking "
            f"workers, {options['connections']} LMTP connections; delivery alone "
            f"{lmtp_rate:.0f} messages/s ({delivery.retried} retried after 4xx, "
            f"{len(delivery.refused)} refused)"
        )
        self.stdout.write(
            f"workers: peak RSS {run.peak_rss_kb / 1024:.0f} MB per worker with its "
            f"work horse; CPU {run.worker_cpu:.1f} s ({cpu_ms:.2f} ms/message); "
            f"lmtp_server CPU {run.lmtp_cpu:.1f} s, RSS {run.lmtp_rss_kb / 1024:.0f} MB; "
            f"run_periodic (sweep, retry scheduler) RSS "
            f"{run.periodic_rss_kb / 1024:.0f} MB; "
            f"{batches} batch transactions; load {' '.join(load)}; "
            + (
                f"tables analyzed every {options['analyze_every']:.0f} s"
                if options["analyze_every"]
                else "tables never analyzed during the run"
            )
        )
        per_msg = run.done or 1
        self.stdout.write(
            "CPU per message: "
            + ", ".join(
                f"{name} {1000 * seconds / per_msg:.2f} ms"
                for name, seconds in (
                    ("workers", run.worker_cpu),
                    ("lmtp_server", run.lmtp_cpu),
                    ("postgres backends", run.backends.seconds),
                    ("load generator", run.delivery.cpu),
                    ("redis (shared)", run.redis_cpu),
                )
            )
            + f"; total {1000 * run.total_cpu / per_msg:.2f} ms (from the first "
            f"delivery on; the workers and lmtp_server spent {run.startup_cpu:.1f} s "
            "starting before it, not counted)"
        )
        self.stdout.write(f"states: {states}")
        figures = {
            "msgs_per_s": f"{rate:.0f}",
            "messages": run.done,
            "workers": options["workers"],
            "worker_rss_mb": f"{run.peak_rss_kb / 1024:.0f}",
            "periodic_rss_mb": f"{run.periodic_rss_kb / 1024:.0f}",
            "history_complaints": history,
            "vacuumed": vacuumed,
            "lmtp_msgs_per_s": f"{lmtp_rate:.0f}",
            "connections": options["connections"],
            "batches": batches,
            "worker_cpu_ms_per_msg": f"{cpu_ms:.2f}",
            "lmtp_cpu_ms_per_msg": f"{1000 * run.lmtp_cpu / per_msg:.2f}",
            "pg_cpu_ms_per_msg": f"{1000 * run.backends.seconds / per_msg:.2f}",
            "total_cpu_ms_per_msg": f"{1000 * run.total_cpu / per_msg:.2f}",
            "startup_cpu_s": f"{run.startup_cpu:.1f}",
            "load1": load[0],
        }
        self.stdout.write(" ".join(f"{k}={v}" for k, v in figures.items()))

    def _population(self, rng, subscriber_count: int, mailing_count: int):
        now = timezone.now()
        tag = f"{int(time.time())}"
        with transaction.atomic():
            subscribers = Subscriber.objects.bulk_create(
                Subscriber(
                    account_number=f"B{tag}-{n}", name=f"Bench {n}", contact_email=""
                )
                for n in range(subscriber_count)
            )
            MailAccount.objects.bulk_create(
                MailAccount(
                    subscriber=s,
                    login=f"bench{tag}-{n}",
                    address=f"bench{tag}-{n}@isp.example",
                )
                for n, s in enumerate(subscribers)
            )
            mailings = Mailing.objects.bulk_create(
                Mailing(
                    subscriber=rng.choice(subscribers),
                    subject=f"Offer {n}",
                    normalized_subject=f"offer {n}",
                    first_seen=now - timedelta(hours=2),
                    last_seen=now - timedelta(hours=2),
                    recipient_count=rng.choice([None, 5000, 20000]),
                    source=Mailing.Source.HOLD,
                )
                for n in range(mailing_count)
            )
            MailingKey.objects.bulk_create(
                MailingKey(
                    mailing=m,
                    kind="message_id",
                    value=f"<bench.{tag}.{m.pk}@isp.example>",
                )
                for m in mailings
            )
        logins = {s.pk: f"bench{tag}-{n}" for n, s in enumerate(subscribers)}
        return [
            (
                m.pk,
                f"<bench.{tag}.{m.pk}@isp.example>",
                logins[m.subscriber_id],
                m.subject,
            )
            for m in mailings
        ]

    def _messages(self, rng, mailings, count: int) -> list[bytes]:
        messages = []
        for n in range(count):
            mailing = rng.choice(mailings)
            kind = n % 4
            messages.append(
                self._bounce(rng, n, mailing)
                if kind < 2
                else self._complaint(n, mailing, kind == 2)
            )
        return messages

    @staticmethod
    def _complaint(n: int, mailing, is_feedback_loop: bool) -> bytes:
        _pk, message_id, login, subject = mailing
        original = (
            "Received: from pc (unknown [203.0.113.5])\r\n"
            f"\t(Authenticated sender: {login})\r\n\tby smtp.isp.example (Postfix) with ESMTPSA id 4QX{n}; Thu, 26 Nov 2026 10:00:00 +0000\r\n"
            f"From: news@shop.example\r\nTo: r{n}@example.org\r\nSubject: {subject}\r\n"
            f"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: {message_id}\r\n\r\nBuy now\r\n"
        )
        if is_feedback_loop:
            return (
                f"From: fbl@provider.example\r\nTo: abuse@isp.example\r\nSubject: complaint {n}\r\n"
                f"Message-ID: <fbl.{n}@provider.example>\r\nMIME-Version: 1.0\r\n"
                'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n\r\n'
                "--b\r\nContent-Type: text/plain\r\n\r\nAbuse report\r\n"
                "--b\r\nContent-Type: message/feedback-report\r\n\r\n"
                f"Feedback-Type: abuse\r\nUser-Agent: Bench/1\r\nVersion: 1\r\nOriginal-Rcpt-To: r{n}@example.org\r\n"
                "Source-IP: 203.0.113.5\r\nArrival-Date: Thu, 26 Nov 2026 10:00:01 +0000\r\n"
                f"\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n{original}\r\n--b--\r\n"
            ).encode()
        return (
            f"From: person{n}@example.net\r\nTo: abuse@isp.example\r\nSubject: Spam from you!\r\n"
            f"Message-ID: <h.{n}@example.net>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
            "--m\r\nContent-Type: text/plain\r\n\r\nPlease stop this spam.\r\n"
            f"--m\r\nContent-Type: message/rfc822\r\n\r\n{original}\r\n--m--\r\n"
        ).encode()

    @staticmethod
    def _bounce(rng, n: int, mailing) -> bytes:
        _pk, message_id, _login, subject = mailing
        parts = []
        for r in range(rng.randint(1, 3)):
            address = f"u{n}x{r}@example.com"
            status, diagnostic = rng.choice(BOUNCE_STATUSES)
            action = "delayed" if status.startswith("4") else "failed"
            parts.append(
                f"\r\nFinal-Recipient: rfc822; {address}\r\nAction: {action}\r\nStatus: {status}\r\n"
                f"Diagnostic-Code: smtp; {diagnostic.format(a=address)}\r\n"
            )
        return (
            "From: MAILER-DAEMON@mx.example.com\r\nTo: news@shop.example\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <d.{n}@mx.example.com>\r\n"
            "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="d"\r\n\r\n'
            "--d\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
            "--d\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n"
            + "".join(parts)
            + "\r\n--d\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: news@shop.example\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
            "\r\n--d--\r\n"
        ).encode()


class _Run:
    """The processes of one run, started and stopped here by their pid, and what
    they cost."""

    def __init__(self, options, first_pk: int, total: int, stdout) -> None:
        self.options = options
        self.first_pk = first_pk
        self.total = total
        self.stdout = stdout
        self.workers: list[subprocess.Popen] = []
        self.lmtp: subprocess.Popen | None = None
        self.periodic: subprocess.Popen | None = None
        self.port = 0
        self.done = 0
        self.elapsed = 0.0
        self.peak_rss_kb = 0
        self.lmtp_rss_kb = 0
        self.periodic_rss_kb = 0
        self.worker_cpu = 0.0
        self.lmtp_cpu = 0.0
        # What the processes spent starting (Django's set-up, imports) before the
        # first delivery: paid once per process, not per message.
        self.startup_cpu = 0.0
        self.delivery = lmtp_load.Delivery()
        self.backends = lmtp_load.ProcessMeter()
        self.redis_cpu = 0.0

    def start_processes(self) -> None:
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        env = dict(os.environ, DJANGO_LOG_LEVEL="WARNING")
        queue = django_rq.get_queue("ingest")
        before = Worker.count(queue=queue)
        # A wake-up key left by an earlier run would hold back the first job.
        inbound_wake_clear()
        for _ in range(self.options["workers"]):
            # As the README says production runs them: the forking worker.
            self.workers.append(
                subprocess.Popen(  # noqa: S603 - fixed argv
                    [*manage, "rqworker", "ingest", "default"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        # The sweep and the retries' scheduler: not a worker, one per deployment.
        self.periodic = subprocess.Popen(  # noqa: S603 - fixed argv
            [*manage, "run_periodic"],
            env=env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.lmtp = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                *manage,
                "lmtp_server",
                "--listen",
                "127.0.0.1:0",
                "--threads",
                str(self.options["lmtp_threads"]),
            ],
            env=env,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        line = self.lmtp.stdout.readline().decode()
        if "listening on" not in line:
            raise CommandError(f"lmtp_server did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])
        deadline = time.monotonic() + 60
        while Worker.count(queue=queue) < before + len(self.workers):
            if time.monotonic() > deadline:
                raise CommandError("the workers did not register with Redis")
            time.sleep(0.1)

    def measure(self, messages: list[bytes]) -> None:
        self.backends.start(_backend_pids())
        worker_before = sum(lmtp_load.cpu_seconds(w.pid) for w in self.workers)
        lmtp_before = lmtp_load.cpu_seconds(self.lmtp.pid)
        self.startup_cpu = worker_before + lmtp_before
        redis_before = _redis_cpu()
        started = time.monotonic()
        self.delivery = lmtp_load.deliver(
            "127.0.0.1",
            self.port,
            messages,
            connections=self.options["connections"],
        )
        analyzed = started
        ours = InboundMessage.objects.filter(pk__gt=self.first_pk)
        while True:
            self._sample()
            if self.delivery.done.is_set():
                if self.delivery.error is not None:
                    raise CommandError(f"delivery failed: {self.delivery.error!r}")
                stored = ours.count()
                pending = ours.filter(state=InboundMessage.State.PENDING).count()
                if stored >= self.delivery.delivered and not pending:
                    break
            now = time.monotonic()
            if now - started > self.options["timeout"]:
                raise CommandError("timed out waiting for the messages")
            every = self.options["analyze_every"]
            if every and now - analyzed >= every:
                _analyze()
                analyzed = time.monotonic()
            time.sleep(POLL_SECONDS)
        self.elapsed = time.monotonic() - started
        self.done = ours.exclude(state=InboundMessage.State.PENDING).count()
        # The work horses of finished jobs are reaped: their CPU is the workers'.
        self.worker_cpu = (
            sum(lmtp_load.cpu_seconds(w.pid) for w in self.workers) - worker_before
        )
        self.lmtp_cpu = lmtp_load.cpu_seconds(self.lmtp.pid) - lmtp_before
        self.backends.sample(_backend_pids())
        self.redis_cpu = _redis_cpu() - redis_before

    @property
    def total_cpu(self) -> float:
        return (
            self.worker_cpu
            + self.lmtp_cpu
            + self.backends.seconds
            + self.delivery.cpu
            + self.redis_cpu
        )

    def _sample(self) -> None:
        self.backends.sample(_backend_pids())
        for worker in self.workers:
            self.peak_rss_kb = max(self.peak_rss_kb, lmtp_load.group_rss_kb(worker.pid))
        if self.lmtp is not None:
            self.lmtp_rss_kb = max(self.lmtp_rss_kb, lmtp_load.rss_kb(self.lmtp.pid))
        if self.periodic is not None:
            self.periodic_rss_kb = max(
                self.periodic_rss_kb, lmtp_load.rss_kb(self.periodic.pid)
            )

    def stop_processes(self) -> None:
        processes = [*self.workers, self.lmtp, self.periodic]
        for process in processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            if process is None:
                continue
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _backend_pids() -> list[int]:
    """The PostgreSQL backends serving this database, but this command's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def _redis_cpu() -> float:
    """Redis's CPU seconds so far: all its clients', other databases' included."""
    info = django_rq.get_connection("ingest").info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _vacuumed() -> str:
    """Whether the history's big tables were ever vacuumed (by hand or by
    autovacuum): the figures must hold either way, and the output says which."""
    tables = [model._meta.db_table for model in HISTORY_TABLES]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname = ANY(%s) "
            "AND coalesce(last_vacuum, last_autovacuum) IS NOT NULL",
            [tables],
        )
        (count,) = cursor.fetchone()
    return "yes" if count == len(tables) else "no"


def _analyze() -> None:
    tables = [
        model._meta.db_table
        for model in (InboundMessage, Mailing, MailingKey, Complaint, Bounce)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(tables)}")  # noqa: S608 - model names
