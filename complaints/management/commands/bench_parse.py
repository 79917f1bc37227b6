"""Measure parsing speed: the ingest parser against flufl.bounce.

``manage.py bench_parse [PATH...]`` parses every sample (by default
``tests/fixtures/emails`` and ``.samples/flufl`` (``make samples``)), in rounds
over the whole set until at least ``--min-messages`` messages, on one core, and
prints messages per second for ``classify`` and for flufl.bounce's
``scan_message`` on the same set.

The figure must hold for real traffic, where no two messages are alike, so
nothing may be remembered from one round to the next: the ingest parser keeps
no cache across messages, and the ``re`` module's cache of compiled patterns
is cleared before each round (the MIME parser compiles a pattern for every
multipart boundary, and a repeated set would otherwise find them compiled).
Wall-clock and CPU time are both shown: on a busy machine the CPU figure is
the steadier one. Each parser first makes one untimed pass over the set, so
both are measured warm (modules imported, module-level patterns compiled), as
in a long-running worker; otherwise whichever runs first pays the other's
start-up costs in the shared email package.
"""

from __future__ import annotations

import email
import logging
import re
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


def _timed(
    func: Callable[[bytes], object], corpus: list[bytes], rounds: int
) -> tuple[float, float]:
    """Wall-clock and CPU seconds for ``rounds`` passes over ``corpus``."""
    wall = cpu = 0.0
    for _ in range(rounds):
        re.purge()  # outside the timed region: see the module docstring
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        for raw in corpus:
            func(raw)
        wall += time.perf_counter() - start_wall
        cpu += time.process_time() - start_cpu
    return wall, cpu


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:.0f}" if seconds else "inf"


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
        rounds = -(-options["min_messages"] // len(corpus))
        total = rounds * len(corpus)
        # flufl.bounce logs every detector it runs; logging is not what is measured.
        logging.getLogger("flufl.bounce").disabled = True
        for label, func in (("parse", classify), ("flufl.bounce", _flufl)):
            _timed(func, corpus, 1)  # warm-up, untimed (see the docstring)
            wall, cpu = _timed(func, corpus, rounds)
            self.stdout.write(
                f"{label}: {total} messages in {wall:.2f} s"
                f" = {_rate(total, wall)} messages/s"
                f" (CPU {cpu:.2f} s = {_rate(total, cpu)} messages/s)"
            )
