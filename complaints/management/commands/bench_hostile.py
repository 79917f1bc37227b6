"""Time ``classify`` on hostile messages built to make parsing expensive.

``manage.py bench_hostile`` builds each case (at most a few MB), classifies it
``--rounds`` times and prints the slowest time per case (wall clock and CPU: on a shared machine
the CPU figure is the steadier) and the worst of all.
The cases sit at and beyond each limit of ``complaints/ingest/limits.py`` and
of the byte caps in ``parse``: the worst case must stay under a second on the
machine that runs the desk. ``--max-seconds`` makes the command exit 1 when
its CPU time does not. The builders are reused by the failure drills (``make drills``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError, CommandParser

from complaints.ingest import classify, limits

HEAD = (
    b"From: MAILER-DAEMON@mx.example.net\r\nTo: news@shop.example\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"Message-ID: <hostile@example.net>\r\nMIME-Version: 1.0\r\n"
)


def empty_parts(count: int) -> bytes:
    """``count`` empty MIME parts in one multipart (the 146-second case)."""
    return (
        HEAD
        + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        + b"--b\r\n\r\n" * count
        + b"--b--\r\n"
    )


def nested(depth: int) -> bytes:
    """Multiparts nested ``depth`` levels deep, alternating with attached
    messages."""
    out = [HEAD, b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"]
    for level in range(1, depth):
        out.append(
            b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n"
            % (level - 1, level)
        )
    return b"".join(out)


def full_parts(count: int, size: int) -> bytes:
    """``count`` text parts of ``size`` bytes of short lines each."""
    body = b"line of text\r\n" * (size // 14)
    part = b"--b\r\nContent-Type: text/plain\r\n\r\n" + body
    return (
        HEAD
        + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        + part * count
        + b"--b--\r\n"
    )


def headed_parts(count: int, fields: int) -> bytes:
    """``count`` parts each opening with ``fields`` header fields."""
    head = b"".join(b"X-Part-Field-%d: some value\r\n" % n for n in range(fields))
    part = b"--b\r\nContent-Type: text/plain\r\n" + head + b"\r\nx\r\n"
    return (
        HEAD
        + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        + part * count
        + b"--b--\r\n"
    )


def many_headers(count: int) -> bytes:
    fields = b"".join(b"X-Filler-%d: value\r\n" % n for n in range(count))
    return HEAD + fields + b"\r\n<ghost@example.com>: user unknown\r\n"


def dash_lines(count: int) -> bytes:
    """Body lines that look like delimiters but match no declared boundary."""
    return (
        HEAD
        + b"Content-Type: multipart/mixed; boundary=real\r\n\r\n--real\r\n\r\n"
        + b"--not-a-boundary\r\n" * count
        + b"--real--\r\n"
    )


def one_long_line(size: int) -> bytes:
    return HEAD + b"\r\n" + b"a" * size + b"\r\n"


def addresses(size: int) -> bytes:
    """A notification whose text is nothing but almost-addresses."""
    return HEAD + b"\r\n" + b"x.y.z@a." * (size // 8) + b"\r\n"


def encoded_words(count: int) -> bytes:
    words = b" ".join([b"=?utf-8?q?caf=C3=A9?="] * count)
    return HEAD.replace(b"Subject: ", b"Subject: " + words + b" ") + b"\r\n.\r\n"


def many_recipients(count: int) -> bytes:
    per = b"".join(
        b"\r\nFinal-Recipient: rfc822; user%d@example.com\r\nAction: failed\r\n"
        b"Status: 5.1.1\r\n" % n
        for n in range(count)
    )
    return (
        HEAD + b"Content-Type: multipart/report; report-type=delivery-status; "
        b"boundary=d\r\n\r\n--d\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n"
        b"--d\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.net\r\n" + per + b"\r\n--d--\r\n"
    )


CASES: dict[str, Callable[[], bytes]] = {
    "400,000 empty parts": lambda: empty_parts(400_000),
    "parts at the limit": lambda: empty_parts(limits.MAX_PARTS - 2),
    "20,000 levels of nesting": lambda: nested(20_000),
    "nesting at the limit": lambda: nested(limits.MAX_CONTAINERS - 1),
    "990 parts of 2 KB of short lines": lambda: full_parts(990, 2_000),
    "90 parts of 22 KB of short lines": lambda: full_parts(90, 22_000),
    "990 parts of 60 header fields": lambda: headed_parts(990, 60),
    "150,000 header fields": lambda: many_headers(150_000),
    "header fields at the limit": lambda: many_headers(limits.MAX_HEADERS - 10),
    "200,000 lines that look like delimiters": lambda: dash_lines(200_000),
    "one 3 MB line": lambda: one_long_line(3_000_000),
    "2 MB of almost-addresses": lambda: addresses(2_000_000),
    "10,000 encoded words in the subject": lambda: encoded_words(10_000),
    "a DSN with 10,000 recipients": lambda: many_recipients(10_000),
}


class Command(BaseCommand):
    help = "Time classify on messages built to make parsing expensive."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rounds", type=int, default=3)
        parser.add_argument("--max-seconds", type=float, default=None)

    def handle(self, *args, rounds: int, max_seconds: float | None, **options):
        worst = worst_cpu = 0.0
        for name, build in CASES.items():
            raw = build()
            slowest, cpu, report = 0.0, 0.0, None
            for _ in range(rounds):
                started, started_cpu = time.perf_counter(), time.process_time()
                report = classify(raw)
                slowest = max(slowest, time.perf_counter() - started)
                cpu = max(cpu, time.process_time() - started_cpu)
            worst = max(worst, slowest)
            worst_cpu = max(worst_cpu, cpu)
            outcome = report.error or f"{report.kind}, {len(report.recipients)} rcpt"
            self.stdout.write(
                f"{slowest:6.3f} s wall {cpu:6.3f} s cpu  {name} "
                f"({len(raw):,} bytes): {outcome[:60]}"
            )
        self.stdout.write(
            f"worst case: {worst:.3f} s wall, {worst_cpu:.3f} s cpu per message"
        )
        # CPU time: on a shared machine the wall clock measures the neighbours.
        if max_seconds is not None and worst_cpu > max_seconds:
            raise CommandError(
                f"worst case {worst_cpu:.3f} s of CPU is over {max_seconds} s"
            )
