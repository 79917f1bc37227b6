"""Fills a PostgreSQL database with a production-sized population for the page
latency benchmark (``bench_pages``): subscribers, mailings, complaints, bounces,
strikes and their timeline. Uses COPY, so it is PostgreSQL only. Refuses to run on
a database that already holds complaints unless --force is given.
"""

import random
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from complaints.models import Complaint

CHANNELS = ["feedback_loop", "email", "web_form"]
FEEDBACK = ["abuse", "abuse", "abuse", "fraud", "virus", ""]
WORDS = "offer sale watches pills loan crypto prize winner news update invoice urgent".split()


class Command(BaseCommand):
    help = "Generate a large population on PostgreSQL for the latency benchmark."

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=200_000)
        parser.add_argument("--mailings", type=int, default=100_000)
        parser.add_argument("--complaints", type=int, default=1_000_000)
        parser.add_argument("--bounces", type=int, default=200_000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--force", action="store_true")
        parser.add_argument(
            "--skip-if-populated",
            action="store_true",
            help="Do nothing when the database already has complaints.",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("populate_scale needs PostgreSQL (it uses COPY).")
        if Complaint.objects.exists() and options["skip_if_populated"]:
            self.stdout.write("already populated; keeping it")
            return
        if Complaint.objects.exists() and not options["force"]:
            raise CommandError(
                "This database already has complaints; use --force to add more."
            )
        # Reproducible benchmark data, not secrets.
        rng = random.Random(options["seed"])  # noqa: S311
        now = timezone.now()
        started = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            raw = cursor.connection
            sub_ids = self._subscribers(raw, options["subscribers"], now)
            mailing_ids = self._mailings(raw, rng, sub_ids, options["mailings"], now)
            self._complaints(raw, rng, mailing_ids, options["complaints"], now)
            self._bounces(raw, rng, mailing_ids, options["bounces"], now)
            self._strikes(raw, rng, mailing_ids, now)
            cursor.execute("ANALYZE")
        self.stdout.write(f"populated in {time.monotonic() - started:.0f} s")

    def _copy(self, raw, table: str, columns: list[str], rows) -> None:
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def _ids(self, raw, table: str, first_id: int) -> list[int]:
        with raw.cursor() as cur:
            # ``table`` is one of this module's constants, never input.
            query = f"SELECT id FROM {table} WHERE id >= %s ORDER BY id"  # noqa: S608
            cur.execute(query, [first_id])
            return [row[0] for row in cur.fetchall()]

    def _next_id(self, raw, table: str) -> int:
        with raw.cursor() as cur:
            cur.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608
            return cur.fetchone()[0]

    def _subscribers(self, raw, count: int, now) -> list[tuple[int, str]]:
        first = self._next_id(raw, "accounts_subscriber")
        base = first * 10
        self._copy(
            raw,
            "accounts_subscriber",
            [
                "account_number",
                "name",
                "contact_email",
                "status",
                "created_at",
                "updated_at",
            ],
            (
                (
                    f"S{base + n:09d}",
                    f"Customer {base + n}",
                    f"c{base + n}@example.net",
                    "active",
                    now,
                    now,
                )
                for n in range(count)
            ),
        )
        ids = self._ids(raw, "accounts_subscriber", first)
        self._copy(
            raw,
            "accounts_mailaccount",
            ["subscriber_id", "login", "address", "is_webmail", "created_at"],
            (
                (pk, f"login{pk}", f"login{pk}@isp.example", pk % 5 == 0, now)
                for pk in ids
            ),
        )
        self._copy(
            raw,
            "accounts_ipassignment",
            [
                "subscriber_id",
                "network",
                "range_start",
                "range_end",
                "valid_from",
                "valid_to",
            ],
            (self._ip_row(pk, now) for pk in ids),
        )
        self.stdout.write(f"{len(ids)} subscribers")
        return ids

    @staticmethod
    def _ip_row(pk: int, now):
        address = f"10.{(pk >> 16) & 255}.{(pk >> 8) & 255}.{pk & 255}"
        key = f"{(0xFFFF << 32) | (10 << 24) | (pk & 0xFFFFFF):032x}"
        return (pk, address, key, key, now - timedelta(days=365), None)

    def _mailings(self, raw, rng, sub_ids, count: int, now) -> list[tuple[int, int]]:
        first = self._next_id(raw, "complaints_mailing")
        rows = []
        for _ in range(count):
            seen = now - timedelta(minutes=rng.randrange(90 * 24 * 60))
            subject = " ".join(rng.choices(WORDS, k=4)).capitalize()
            rows.append(
                (
                    rng.choice(sub_ids),
                    "news@shop.example",
                    subject,
                    subject.lower(),
                    seen,
                    seen,
                    rng.choice([None, 500, 5000]),
                    "[]",
                    "complaints",
                    "open",
                    0,
                    0,
                    0,
                )
            )
        self._copy(
            raw,
            "complaints_mailing",
            [
                "subscriber_id",
                "sender",
                "subject",
                "normalized_subject",
                "first_seen",
                "last_seen",
                "recipient_count",
                "held_recipients",
                "source",
                "state",
                "complaint_count",
                "hard_bounce_count",
                "soft_bounce_count",
            ],
            rows,
        )
        ids = self._ids(raw, "complaints_mailing", first)
        self.stdout.write(f"{len(ids)} mailings")
        return [(pk, row[0]) for pk, row in zip(ids, rows, strict=True)]

    def _complaints(self, raw, rng, mailings, count: int, now) -> None:
        first = self._next_id(raw, "complaints_complaint")

        def rows():
            for n in range(count):
                received = now - timedelta(seconds=rng.randrange(90 * 86400))
                linked = rng.random() < 0.9
                mailing_id, sub_id = rng.choice(mailings) if linked else (None, None)
                yield (
                    f"P{first + n:010d}",
                    CHANNELS[n % 3],
                    received,
                    f"r{n}@example.org",
                    "",
                    "",
                    rng.choice(FEEDBACK),
                    "",
                    f"<m{n}@shop.example>",
                    "",
                    "news@shop.example",
                    " ".join(rng.choices(WORDS, k=4)),
                    "",
                    None,
                    f"r{n}@example.org",
                    None,
                    "",
                    sub_id,
                    mailing_id,
                    "linked" if linked else "new",
                    "",
                    None,
                )

        self._copy(
            raw,
            "complaints_complaint",
            [
                "reference",
                "channel",
                "received_at",
                "complainant_email",
                "complainant_name",
                "complainant_text",
                "feedback_type",
                "user_agent",
                "message_id",
                "mail_from",
                "header_from",
                "subject",
                "date_header",
                "source_ip",
                "original_recipient",
                "arrival_date",
                "login",
                "subscriber_id",
                "mailing_id",
                "state",
                "link_note",
                "acknowledged_at",
            ],
            rows(),
        )
        with raw.cursor() as cur:
            cur.execute(
                "UPDATE complaints_mailing m SET complaint_count = c.n FROM "
                "(SELECT mailing_id, COUNT(*) n FROM complaints_complaint "
                "WHERE state = 'linked' GROUP BY mailing_id) c WHERE c.mailing_id = m.id"
            )
        self.stdout.write(f"{count} complaints")

    def _bounces(self, raw, rng, mailings, count: int, now) -> None:
        first = self._next_id(raw, "complaints_inboundmessage")
        inbound_count = max(1, count // 10)
        self._copy(
            raw,
            "complaints_inboundmessage",
            [
                "raw",
                "sha256",
                "size",
                "channel",
                "message_id",
                "received_at",
                "state",
                "kind",
                "error",
                "attempts",
            ],
            (
                (
                    b"Subject: bounce\r\n\r\n",
                    f"{first + n:064x}",
                    20,
                    "pipe",
                    "",
                    now,
                    "processed",
                    "bounce",
                    "",
                    1,
                )
                for n in range(inbound_count)
            ),
        )
        inbound_ids = self._ids(raw, "complaints_inboundmessage", first)

        def rows():
            for n in range(count):
                mailing_id, sub_id = rng.choice(mailings)
                hard = rng.random() < 0.6
                yield (
                    inbound_ids[n % len(inbound_ids)],
                    now - timedelta(seconds=rng.randrange(30 * 86400)),
                    f"b{n}@example.com",
                    "failed",
                    "5.1.1" if hard else "4.2.2",
                    550 if hard else 452,
                    "",
                    "user_unknown" if hard else "mailbox_full",
                    hard,
                    "",
                    sub_id,
                    mailing_id,
                )

        self._copy(
            raw,
            "complaints_bounce",
            [
                "inbound_id",
                "received_at",
                "address",
                "action",
                "status",
                "reply_code",
                "diagnostic",
                "reason",
                "is_hard",
                "message_id",
                "subscriber_id",
                "mailing_id",
            ],
            rows(),
        )
        self.stdout.write(f"{count} bounces")

    def _strikes(self, raw, rng, mailings, now) -> None:
        chosen = rng.sample(mailings, k=min(len(mailings), len(mailings) // 5))
        self._copy(
            raw,
            "complaints_strike",
            ["mailing_id", "subscriber_id", "reason", "issued_at", "revoke_reason"],
            (
                (
                    mailing_id,
                    sub_id,
                    "complaints",
                    now - timedelta(days=rng.randrange(90)),
                    "",
                )
                for mailing_id, sub_id in chosen
            ),
        )
        self._copy(
            raw,
            "accounts_action",
            [
                "subscriber_id",
                "mailing_id",
                "kind",
                "reason",
                "created_at",
                "notice_template",
            ],
            (
                (
                    sub_id,
                    mailing_id,
                    "strike",
                    "Complaints",
                    now - timedelta(days=rng.randrange(90)),
                    "",
                )
                for mailing_id, sub_id in chosen
            ),
        )
        self.stdout.write(f"{len(chosen)} strikes")
