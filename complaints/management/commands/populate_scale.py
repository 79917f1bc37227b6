"""Fills a PostgreSQL database with a production-sized history for the page, support
and ingest benchmarks: subscribers with their logins and IP leases, mailings with
the keys their ingest leaves (Message-IDs, queue ids, trace tokens), complaints
and bounces each with the stored message it came from, strikes and their
timeline, and the worst realistic cases: the busiest mailing with tens of
thousands of complaints, a failed queue longer than a page count reaches, a
dynamic address leased to a new customer every few days for a year.

COPY with explicit ids, the tables' secondary indexes dropped while loading and
built once at the end: PostgreSQL only.

``--reuse`` keeps a database whose population has the size asked for (the
benchmarks' "reuse what exists"), and empties and refills one of another size.
"""

import random
import time
from dataclasses import dataclass
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Subscriber
from complaints.models import Complaint, Mailing

CHANNELS = ["feedback_loop", "feedback_loop", "email", "web_form"]
FEEDBACK = ["abuse", "abuse", "abuse", "fraud", "virus", ""]
WORDS = (
    "offer sale watches pills loan crypto prize winner news update invoice urgent "
    "spring summer club members weekly deal free shipping"
).split()
FIRST = "Anna Ben Clara David Emma Felix Greta Hugo Ida Jonas Karla Leon".split()
LAST = "Berger Fischer Hansen Jansen Keller Lang Meyer Novak Olsen Peters".split()
# A dynamic pool whose every address passes to another customer every few days.
POOL = (100 << 24) | (64 << 16)  # 100.64.0.0
POOL_SIZE = 1024
LEASE_DAYS = 6
# The desk's tables this command fills, emptied by --reuse when the size differs.
TABLES = [
    "accounts_action",
    "complaints_strike",
    "complaints_bounce",
    "complaints_complaint",
    "complaints_mailingkey",
    "complaints_mailing",
    "complaints_inboundmessage",
    "complaints_dailyreportcount",
    "accounts_ipassignment",
    "accounts_mailaccount",
    "accounts_subscriber",
]
SCALES = {
    "default": {
        "subscribers": 200_000,
        "mailings": 100_000,
        "complaints": 1_000_000,
        "bounces": 200_000,
        "failed": 20_000,
        "busiest": 40_000,
    },
    "small": {
        "subscribers": 5_000,
        "mailings": 2_000,
        "complaints": 20_000,
        "bounces": 4_000,
        "failed": 600,
        "busiest": 3_000,
    },
}


@dataclass(frozen=True)
class Size:
    subscribers: int
    mailings: int
    complaints: int
    bounces: int
    failed: int
    busiest: int


class Command(BaseCommand):
    help = "Generate a production-sized history on PostgreSQL for the benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), default="default")
        for name in SCALES["default"]:
            parser.add_argument(f"--{name}", type=int, default=None)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="Keep a population of this size; empty and refill one of another.",
        )
        parser.add_argument(
            "--skip-if-populated",
            action="store_true",
            help="Do nothing when the database already has complaints.",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("populate_scale needs PostgreSQL (it uses COPY).")
        size = Size(
            **{
                name: options[name] if options[name] is not None else default
                for name, default in SCALES[options["scale"]].items()
            }
        )
        if Complaint.objects.exists():
            if options["skip_if_populated"] or (options["reuse"] and _matches(size)):
                self.stdout.write(f"already populated ({_describe()}); keeping it")
                return
            if not options["reuse"]:
                raise CommandError(
                    "This database already has complaints; use --reuse to refill it."
                )
            self.stdout.write(f"emptying a population of another size ({_describe()})")
        started = time.monotonic()
        # Reproducible benchmark data, not secrets.
        rng = random.Random(options["seed"])  # noqa: S311
        with transaction.atomic():
            _Loader(size, rng, self.stdout).run()
        self.stdout.write(f"populated in {time.monotonic() - started:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            f"populate_seconds={time.monotonic() - started:.0f} {_describe()}"
        )


def _matches(size: Size) -> bool:
    """The population holds what was asked, give or take what a benchmark run
    adds to it (an ingest run with kept history adds its own subscribers,
    mailings and complaints): at least the size asked, at most a fifth more."""
    return all(
        wanted <= model.objects.count() <= wanted * 1.2
        for model, wanted in (
            (Subscriber, size.subscribers),
            (Mailing, size.mailings),
            (Complaint, size.complaints),
        )
    )


def _describe() -> str:
    return (
        f"subscribers={Subscriber.objects.count()} mailings={Mailing.objects.count()} "
        f"complaints={Complaint.objects.count()}"
    )


class _Loader:
    """One population, written in one transaction."""

    def __init__(self, size: Size, rng: random.Random, stdout):
        self.size = size
        self.rng = rng
        self.stdout = stdout
        self.now = timezone.now()
        self.raw = connection.cursor().connection
        self.inbound_next = 1

    def run(self) -> None:
        with self.raw.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        dropped = self._drop_indexes()
        self._step("subscribers", self._subscribers)
        self._step("mailings", self._mailings)
        self._step("complaints", self._complaints)
        self._step("bounces", self._bounces)
        self._step("failed messages", self._failed)
        self._step("strikes", self._strikes)
        self._step("mailing counters", self._counters)
        self._step("indexes", lambda: self._create_indexes(dropped))
        self._reset_sequences()

    def _step(self, name: str, work) -> None:
        started = time.monotonic()
        work()
        self.stdout.write(f"{name}: {time.monotonic() - started:.1f} s")

    # -- bulk loading ------------------------------------------------------

    def _copy(self, table: str, columns: list[str], rows) -> None:
        with (
            self.raw.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def _drop_indexes(self) -> list[str]:
        """The secondary indexes of the tables filled (not those behind primary
        keys or unique constraints): building each once at the end is several
        times faster than keeping it up to date through millions of rows."""
        with self.raw.cursor() as cur:
            cur.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conname = i.indexname)",
                [TABLES],
            )
            found = cur.fetchall()
            for name, _definition in found:
                cur.execute(f'DROP INDEX "{name}"')
        return [definition for _name, definition in found]

    def _create_indexes(self, definitions: list[str]) -> None:
        with self.raw.cursor() as cur:
            # The deferred foreign-key checks run first: PostgreSQL builds no
            # index on a table with checks pending.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in definitions:
                cur.execute(definition)

    def _reset_sequences(self) -> None:
        with self.raw.cursor() as cur:
            for table in TABLES:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"GREATEST((SELECT MAX(id) FROM {table}), 1))"
                )

    def _inbound(self, rows) -> None:
        self._copy(
            "complaints_inboundmessage",
            [
                "id",
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
                "is_cut",
                "discard_reason",
                "processed_at",
            ],
            rows,
        )

    def _next_inbound(self) -> int:
        pk = self.inbound_next
        self.inbound_next += 1
        return pk

    # -- the population ----------------------------------------------------

    def _subscribers(self) -> None:
        count, now, rng = self.size.subscribers, self.now, self.rng
        self._copy(
            "accounts_subscriber",
            ["id", "account_number", "name", "contact_email", "status"]
            + ["created_at", "updated_at"],
            (
                (
                    pk,
                    f"S{pk:09d}",
                    f"{rng.choice(FIRST)} {rng.choice(LAST)} {pk}",
                    f"c{pk}@example.net",
                    "active",
                    now,
                    now,
                )
                for pk in range(1, count + 1)
            ),
        )
        self._copy(
            "accounts_mailaccount",
            ["subscriber_id", "login", "address", "is_webmail", "created_at"],
            (
                (pk, f"{prefix}{pk}", f"{prefix}{pk}@isp.example", pk % 5 == 0, now)
                for pk in range(1, count + 1)
                for prefix in (("login", "shop") if pk % 5 == 0 else ("login",))
            ),
        )
        self._copy(
            "accounts_ipassignment",
            ["subscriber_id", "network", "range_start", "range_end", "block"]
            + ["valid_from", "valid_to"],
            self._ip_rows(count),
        )

    def _ip_rows(self, count: int):
        """A static IPv4 address each, an IPv6 /56 for every third subscriber,
        and a year of leases of the dynamic pool, one customer after another."""
        year_ago = self.now - timedelta(days=365)
        for pk in range(1, count + 1):
            v4 = (10 << 24) | (pk & 0xFFFFFF)
            yield (pk, _v4(v4), *_v4_keys(v4, 32), _v4(v4) + "/32", year_ago, None)
            if pk % 3 == 0:
                network = f"2001:db8:{pk >> 8 & 0xFFFF:x}:{(pk & 0xFF) << 8:x}::/56"
                start = (0x20010DB8 << 96) | ((pk >> 8 & 0xFFFF) << 80)
                start |= (pk & 0xFF) << 72
                end = start | ((1 << 72) - 1)
                keys = (f"{start:032x}", f"{end:032x}")
                yield (pk, network, *keys, network, year_ago, None)
        leases = 365 // LEASE_DAYS
        for offset in range(POOL_SIZE):
            address = POOL + offset
            for lease in range(leases):
                holder = (offset * leases + lease) % count + 1
                start = year_ago + timedelta(days=lease * LEASE_DAYS)
                end = start + timedelta(days=LEASE_DAYS)
                yield (
                    holder,
                    _v4(address),
                    *_v4_keys(address, 32),
                    _v4(address) + "/32",
                    start,
                    None if lease == leases - 1 else end,
                )

    def _mailings(self) -> None:
        rng, now, size = self.rng, self.now, self.size
        self.mailing_owner = [0] * (size.mailings + 1)
        rows = []
        for pk in range(1, size.mailings + 1):
            owner = rng.randrange(1, size.subscribers + 1)
            self.mailing_owner[pk] = owner
            seen = now - timedelta(minutes=rng.randrange(90 * 24 * 60))
            subject = " ".join(rng.choices(WORDS, k=4)).capitalize()
            rows.append(
                (pk, owner, f"news@shop{owner}.example", subject, subject.lower())
                + (seen, seen, rng.choice([None, 500, 5000]), "[]", "[]", "{}")
                + (f'["{subject.lower()}"]', "complaints", "open", "campaign")
                + ("reports", False, "", 0, 0, 0)
            )
        self._copy(
            "complaints_mailing",
            ["id", "subscriber_id", "sender", "subject", "normalized_subject"]
            + ["first_seen", "last_seen", "recipient_count", "held_recipients"]
            + ["held_queue_ids", "signals", "subject_variants", "source", "state"]
            + ["kind", "recipient_source", "is_likely_compromised"]
            + ["compromise_reason", "complaint_count", "hard_bounce_count"]
            + ["soft_bounce_count"],
            rows,
        )
        self.subjects = [""] + [row[3] for row in rows]
        # The keys every mailing's reports leave besides their Message-IDs: the
        # relay's queue id, and for most a trace token.
        self._copy(
            "complaints_mailingkey",
            ["mailing_id", "kind", "value"],
            (
                (pk, kind, value)
                for pk in range(1, size.mailings + 1)
                for kind, value in (
                    ("queue_id", f"4F{pk:08X}"),
                    ("trace", f"t{pk:012x}.{self.mailing_owner[pk]:x}"),
                )
                if kind == "queue_id" or pk % 5
            ),
        )

    def _complaint_plan(self):
        """(mailing id or None, received_at) per complaint; the busiest mailing
        (#1) gets its tens of thousands within two days."""
        rng, now, size = self.rng, self.now, self.size
        burst_start = now - timedelta(days=2)
        for n in range(size.complaints):
            if n < size.busiest:
                yield 1, burst_start + timedelta(seconds=rng.randrange(2 * 86400))
            elif rng.random() < 0.9:
                yield (
                    rng.randrange(2, size.mailings + 1),
                    now - timedelta(seconds=rng.randrange(90 * 86400)),
                )
            else:
                yield None, now - timedelta(seconds=rng.randrange(90 * 86400))

    def _complaints(self) -> None:
        # In arrival order, as ingest writes them: ids and heap follow time.
        plan = sorted(self._complaint_plan(), key=lambda item: item[1])
        first = self.inbound_next
        self.inbound_next += len(plan)
        self._inbound(
            (
                first + n,
                _report_bytes(n, mailing, self.subjects[mailing or 0]),
                f"{first + n:064x}",
                400,
                "pipe",
                f"<arf{n}@fbl.example.org>",
                received,
                "processed",
                "complaint",
                "",
                1,
                False,
                "",
                received,
            )
            for n, (mailing, received) in enumerate(plan)
        )
        rng = self.rng
        self._copy(
            "complaints_complaint",
            ["id", "reference", "inbound_id", "channel", "received_at"]
            + ["complainant_email", "complainant_name", "complainant_text"]
            + ["feedback_type", "user_agent", "message_id", "mail_from"]
            + ["header_from", "subject", "date_header", "source_ip"]
            + ["original_recipient", "login", "subscriber_id", "mailing_id"]
            + ["state", "link_note", "attribution", "is_forged", "forged_reason"]
            + ["report_fingerprint", "is_without_evidence", "needs_acknowledgment"],
            (
                (
                    n + 1,
                    f"P{n + 1:010d}",
                    first + n,
                    CHANNELS[n % 4],
                    received,
                    f"r{n}@example.org",
                    "",
                    "",
                    rng.choice(FEEDBACK),
                    "",
                    f"<{n}.{mailing or 0}@mail.shop.example>",
                    "",
                    f"news@shop{self.mailing_owner[mailing or 0]}.example",
                    self.subjects[mailing]
                    if mailing
                    else " ".join(rng.choices(WORDS, k=4)),
                    "",
                    None,
                    f"r{n}@example.org",
                    f"login{self.mailing_owner[mailing]}" if mailing else "",
                    self.mailing_owner[mailing] if mailing else None,
                    mailing,
                    "linked" if mailing else "new",
                    "login" if mailing else "no clue",
                    '{"decided_by": "login"}' if mailing else "{}",
                    False,
                    "",
                    f"{n:064x}",
                    False,
                    CHANNELS[n % 4] == "web_form",
                )
                for n, (mailing, received) in enumerate(plan)
            ),
        )
        self._copy(
            "complaints_mailingkey",
            ["mailing_id", "kind", "value"],
            (
                (mailing, "message_id", f"<{n}.{mailing}@mail.shop.example>")
                for n, (mailing, _received) in enumerate(plan)
                if mailing
            ),
        )

    def _bounces(self) -> None:
        """Bounce notices of ten failed recipients each."""
        rng, now, size = self.rng, self.now, self.size
        notices = []
        for _ in range(max(1, size.bounces // 10)):
            notices.append(
                (
                    self._next_inbound(),
                    rng.randrange(1, size.mailings + 1),
                    now - timedelta(seconds=rng.randrange(30 * 86400)),
                )
            )
        self._inbound(
            (
                pk,
                b"From: MAILER-DAEMON@mx.example.com\r\nSubject: Undelivered Mail\r\n\r\n",
                f"{pk:064x}",
                70,
                "pipe",
                f"<dsn{pk}@mx.example.com>",
                received,
                "processed",
                "bounce",
                "",
                1,
                False,
                "",
                received,
            )
            for pk, _mailing, received in notices
        )

        def rows():
            for n in range(size.bounces):
                inbound, mailing, received = notices[n // 10 % len(notices)]
                hard = rng.random() < 0.6
                yield (
                    inbound,
                    received,
                    f"b{n}@example.com",
                    f"b{n}@example.com",
                    "failed",
                    "5.1.1" if hard else "4.2.2",
                    550 if hard else 452,
                    "",
                    "user_unknown" if hard else "mailbox_full",
                    hard,
                    False,
                    f"<{n}.{mailing}@mail.shop.example>",
                    self.mailing_owner[mailing],
                    mailing,
                )

        self._copy(
            "complaints_bounce",
            ["inbound_id", "received_at", "address", "original_address", "action"]
            + ["status", "reply_code", "diagnostic", "reason", "is_hard"]
            + ["is_forged", "message_id", "subscriber_id", "mailing_id"],
            rows(),
        )

    def _failed(self) -> None:
        """A failed queue longer than the page count reaches."""
        now = self.now
        rows = []
        for n in range(self.size.failed):
            pk = self._next_inbound()
            received = now - timedelta(minutes=n)
            rows.append(
                (
                    pk,
                    b"Subject: \xff\xfe broken\r\n\r\n\x00",
                    f"{pk:064x}",
                    30,
                    "http",
                    "",
                    received,
                    "failed",
                    "",
                    "too complex: more than 2000 MIME parts",
                    3,
                    False,
                    "",
                    received,
                )
            )
        self._inbound(rows)

    def _strikes(self) -> None:
        rng, now = self.rng, self.now
        mailings = range(1, self.size.mailings + 1)
        chosen = sorted(rng.sample(mailings, k=len(mailings) // 5))
        self._copy(
            "complaints_strike",
            ["mailing_id", "subscriber_id", "reason", "issued_at", "revoke_reason"],
            (
                (
                    pk,
                    self.mailing_owner[pk],
                    "complaints",
                    now - timedelta(days=rng.randrange(90)),
                    "",
                )
                for pk in chosen
            ),
        )
        self._copy(
            "accounts_action",
            ["subscriber_id", "mailing_id", "kind", "reason", "created_at"]
            + ["notice_template", "notice_text"],
            (
                (
                    self.mailing_owner[pk],
                    pk,
                    kind,
                    "Complaints",
                    now - timedelta(days=rng.randrange(90)),
                    template,
                    "",
                )
                for pk in chosen
                for kind, template in (("strike", ""), ("warning", "warning"))
            ),
        )

    def _counters(self) -> None:
        with self.raw.cursor() as cur:
            cur.execute(
                "UPDATE complaints_mailing m SET complaint_count = c.n, "
                "first_seen = LEAST(m.first_seen, c.first), "
                "last_seen = GREATEST(m.last_seen, c.last) FROM "
                "(SELECT mailing_id, COUNT(*) n, MIN(received_at) first, "
                "MAX(received_at) last FROM complaints_complaint "
                "WHERE state = 'linked' GROUP BY mailing_id) c "
                "WHERE c.mailing_id = m.id"
            )
            cur.execute(
                "UPDATE complaints_mailing m SET hard_bounce_count = b.hard, "
                "soft_bounce_count = b.soft FROM "
                "(SELECT mailing_id, COUNT(*) FILTER (WHERE is_hard) hard, "
                "COUNT(*) FILTER (WHERE NOT is_hard) soft FROM complaints_bounce "
                "GROUP BY mailing_id) b WHERE b.mailing_id = m.id"
            )


def _v4(value: int) -> str:
    return ".".join(str(value >> shift & 255) for shift in (24, 16, 8, 0))


def _v4_keys(value: int, prefix: int) -> tuple[str, str]:
    mapped = (0xFFFF << 32) | value
    span = (1 << (32 - prefix)) - 1
    return f"{mapped:032x}", f"{mapped | span:032x}"


def _report_bytes(n: int, mailing: int | None, subject: str) -> bytes:
    """A short feedback report: enough to be a realistic stored row, not parsed."""
    return (
        f"From: fbl@fbl.example.org\r\nMessage-ID: <arf{n}@fbl.example.org>\r\n"
        f"Subject: FW: {subject}\r\nContent-Type: multipart/report; "
        f'report-type=feedback-report; boundary="b"\r\n\r\n--b\r\n'
        f"Feedback-Type: abuse\r\n--b\r\nMessage-ID: <{n}.{mailing or 0}@mail."
        f"shop.example>\r\n--b--\r\n"
    ).encode()
