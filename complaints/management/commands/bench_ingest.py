"""End-to-end ingest benchmark: from stored messages to linked rows, through real
RQ workers on the configured PostgreSQL and Redis.

It creates a population (subscribers with logins, mailings with known
Message-IDs), generates a mix of feedback reports, forwarded complaints and
bounces about those mailings, stores them as pending InboundMessages, enqueues
them in batches, starts N ``rqworker --burst`` processes, and prints the
messages per second from the first enqueue to the last processed row, and the
workers' peak resident memory. Refuses to run on SQLite, and on a database that
already holds inbound messages unless --force.
"""

import hashlib
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import MailAccount, Subscriber
from complaints.models import Bounce, Complaint, InboundMessage, Mailing, MailingKey
from complaints.services import inbound_enqueue

BATCH = 100
BOUNCE_STATUSES = [
    ("5.1.1", "550 5.1.1 <{a}>: Recipient address rejected: User unknown"),
    ("5.2.2", "552 5.2.2 <{a}>: Mailbox full"),
    ("4.4.1", "451 4.4.1 Connection timed out"),
    ("5.7.1", "554 5.7.1 Service unavailable; Client host blocked using zen.example"),
]


class Command(BaseCommand):
    help = "Measure end-to-end ingest throughput with real workers (PostgreSQL only)."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=100_000)
        parser.add_argument("--subscribers", type=int, default=10_000)
        parser.add_argument("--mailings", type=int, default=1_000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument("--force", action="store_true")
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
        if InboundMessage.objects.exists() and not options["force"]:
            raise CommandError(
                "This database already has inbound messages; use --force."
            )
        rng = random.Random(options["seed"])  # noqa: S311  (reproducible test data)
        mailings = self._population(rng, options["subscribers"], options["mailings"])
        ids = self._store(rng, mailings, options["messages"])
        self.stdout.write(f"stored {len(ids)} pending messages; starting workers")
        elapsed, peak_rss = self._run(
            ids, options["workers"], analyze_every=options["analyze_every"]
        )
        done = (
            InboundMessage.objects.filter(pk__in=ids).exclude(state="pending").count()
        )
        self.stdout.write(
            f"ingest: {done} messages in {elapsed:.1f} s = {done / elapsed:.0f} messages/s "
            f"with {options['workers']} workers; worker peak RSS {peak_rss / 1024:.0f} MB; "
            + (
                f"tables analyzed every {options['analyze_every']:.0f} s"
                if options["analyze_every"]
                else "tables never analyzed during the run"
            )
        )
        by_state = dict(
            InboundMessage.objects.filter(pk__in=ids)
            .values_list("state")
            .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("pk"))
        )
        self.stdout.write(f"states: {by_state}")

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

    def _store(self, rng, mailings, count: int) -> list[int]:
        now = timezone.now()
        rows = []
        for n in range(count):
            mailing = rng.choice(mailings)
            kind = n % 4
            raw = (
                self._bounce(rng, n, mailing)
                if kind < 2
                else self._complaint(n, mailing, kind == 2)
            )
            rows.append(
                InboundMessage(
                    raw=raw,
                    sha256=hashlib.sha256(raw).hexdigest(),
                    size=len(raw),
                    channel="file",
                    received_at=now,
                    message_id=f"<in.{n}@bench>",
                )
            )
        created = []
        for start in range(0, len(rows), 5000):
            created += InboundMessage.objects.bulk_create(rows[start : start + 5000])
        return [row.pk for row in created]

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

    def _run(
        self, ids: list[int], workers: int, analyze_every: float = 0.0
    ) -> tuple[float, int]:
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        started = time.monotonic()
        for start in range(0, len(ids), BATCH):
            inbound_enqueue(inbound_ids=ids[start : start + BATCH])
        env = dict(os.environ, DJANGO_LOG_LEVEL="WARNING")
        procs = [
            subprocess.Popen(  # noqa: S603
                [
                    *manage,
                    "rqworker",
                    "ingest",
                    "--burst",
                    "--worker-class",
                    "rq.SimpleWorker",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        peak = 0
        analyzed = time.monotonic()
        while any(p.poll() is None for p in procs):
            peak = max(peak, max((_rss_kb(p.pid) for p in procs), default=0))
            if analyze_every and time.monotonic() - analyzed >= analyze_every:
                _analyze()
                analyzed = time.monotonic()
            time.sleep(0.2)
        return time.monotonic() - started, peak


def _analyze() -> None:
    tables = [
        model._meta.db_table
        for model in (InboundMessage, Mailing, MailingKey, Complaint, Bounce)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(tables)}")  # noqa: S608 - model names


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
