"""Measure parsing speed: the ingest parser against flufl.bounce.

``manage.py bench_parse [PATH...]`` parses every sample (by default
``tests/fixtures/emails`` and ``.samples/flufl`` (``make samples``)), repeated to at least
``--min-messages`` messages, on one core, and prints messages per second for
``classify`` and for flufl.bounce's ``scan_message`` on the same set.
"""

from __future__ import annotations

import email
import logging
import time
from collections.abc import Callable
from email.policy import compat32
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from flufl.bounce import scan_message

from complaints.ingest import classify

from .parse_report import iter_paths

DEFAULT_DIRS = ("tests/fixtures/emails", ".samples/flufl")
SKIP_SUFFIXES = (".json", ".md")


def _flufl(raw: bytes) -> object:
    try:
        return scan_message(email.message_from_bytes(raw, policy=compat32))
    except (IndexError, ValueError, TypeError, AttributeError, UnicodeError):
        # Some detectors crash on odd input; the message still counts.
        return None


def _timed(func: Callable[[bytes], object], samples: list[bytes]) -> float:
    start = time.perf_counter()
    for raw in samples:
        func(raw)
    return time.perf_counter() - start


class Command(BaseCommand):
    help = "Benchmark classify() against flufl.bounce on the sample emails."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", metavar="PATH")
        parser.add_argument("--min-messages", type=int, default=3000)

    def handle(self, *args: Any, **options: Any) -> None:
        base = Path(settings.BASE_DIR)
        names = options["paths"] or [str(base / d) for d in DEFAULT_DIRS]
        files = [p for p in iter_paths(names) if p.suffix not in SKIP_SUFFIXES]
        files = [p for p in files if p.name != "LICENSE"]
        corpus = [p.read_bytes() for p in files]
        if not corpus:
            self.stderr.write("No samples found.")
            return
        repeat = -(-options["min_messages"] // len(corpus))
        samples = corpus * repeat
        # flufl.bounce logs every detector it runs; logging is not what is measured.
        logging.getLogger("flufl.bounce").disabled = True
        for label, func in (("parse", classify), ("flufl.bounce", _flufl)):
            seconds = _timed(func, samples)
            rate = len(samples) / seconds if seconds else float("inf")
            self.stdout.write(
                f"{label}: {len(samples)} messages in {seconds:.2f} s"
                f" = {rate:.0f} messages/s"
            )
