"""Measure parsing accuracy and speed: the ingest parser against flufl.bounce.

``manage.py bench_parse [PATH...]`` first scores both parsers on the labelled
corpus (``tests/fixtures/emails``, the generated ``tests/fixtures/corpus``
and the flufl.bounce and Mail::DeliveryStatus::BounceParser samples of
``make samples``): kind, recipients exactly
right and the hard flag (see ``complaints.ingest.scoring``). It then parses
every sample (by default the same set), in rounds over the whole set until at
least ``--min-messages`` messages, on one core, and prints messages per
second for ``classify`` and for flufl.bounce's ``scan_message``. The two take
turns, a round each in alternate order (``complaints.bench.turns``), and the
speed ratio printed is the median of the rounds' CPU ratios: within a round
both meet nearly the same load on a shared machine.

The figure must hold for real traffic, where no two messages are alike, so
nothing may be remembered from one round to the next: the ingest parser keeps
no cache across messages, and the ``re`` module's cache of compiled patterns
is cleared before each round (the stdlib MIME parser, which flufl.bounce
uses and the ingest parser falls back on for broken mail, compiles a
pattern for every multipart boundary, and a repeated set would otherwise
find them compiled).
Wall-clock and CPU time are both shown: on a busy machine the CPU figure is
the steadier one, and ``--best-of K`` adds a steadier one still: the parsers
take turns on each message, K times, and each message counts with its least
CPU time. Each parser first makes one untimed pass over the set, so
both are measured warm (modules imported, module-level patterns compiled), as
in a long-running worker; otherwise whichever runs first pays the other's
start-up costs in the shared email package.

``--snapshot FILE`` and ``--compare FILE`` guard a speed change: the first
writes everything ``classify`` returns for each file (every field of the
report, the original's hops and fingerprint included), one JSON line a file,
and the second reports each file whose result differs from the snapshot's.
Neither times anything.
"""

from __future__ import annotations

import dataclasses
import email
import json
import logging
import re
import time
from collections.abc import Callable
from email.policy import compat32
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from flufl.bounce import all_failures, scan_message

from complaints import ingest
from complaints.bench.turns import take_turns
from complaints.ingest import classify, parse, scoring

from .parse_report import iter_paths

DEFAULT_DIRS = (
    "tests/fixtures/emails",
    "tests/fixtures/corpus/messages",
    ".samples/flufl",
    ".samples/bounceparser",
)
SKIP_SUFFIXES = (".json", ".md", ".py")


def _labelled(base: Path) -> list[scoring.Expected]:
    fixtures = base / "tests" / "fixtures"
    return [
        *scoring.load_labelled(fixtures / "emails"),
        *scoring.load_labelled(fixtures / "corpus", messages="messages"),
        *scoring.load_address_lists(
            fixtures / "flufl" / "expected.json", base / ".samples" / "flufl"
        ),
        *scoring.load_labelled(
            fixtures / "bounceparser", samples=base / ".samples" / "bounceparser"
        ),
    ]


def _flufl_prediction(raw: bytes) -> scoring.Prediction:
    try:
        temporary, permanent = all_failures(
            email.message_from_bytes(raw, policy=compat32)
        )
    except (IndexError, ValueError, TypeError, AttributeError, UnicodeError):
        temporary, permanent = frozenset(), frozenset()
    failed = {_text(a).lower(): False for a in temporary}
    failed.update({_text(a).lower(): True for a in permanent})
    return scoring.Prediction("bounce" if failed else "other", failed)


def _text(address: bytes | str) -> str:
    if isinstance(address, bytes):
        return address.decode("utf-8", "replace")
    return address


def _flufl(raw: bytes) -> object:
    try:
        return scan_message(email.message_from_bytes(raw, policy=compat32))
    except (IndexError, ValueError, TypeError, AttributeError, UnicodeError):
        # Some detectors crash on odd input; the message still counts.
        return None


def _best_of(
    funcs: tuple[Callable[[bytes], object], ...], corpus: list[bytes], rounds: int
) -> list[float]:
    """Mean over ``corpus`` of each message's least CPU seconds in ``rounds``
    passes, the parsers taking turns on each message: on a shared machine
    both then meet the same load, and the least time is the one least
    disturbed by it."""
    best = [[float("inf")] * len(corpus) for _ in funcs]
    for _ in range(rounds):
        re.purge()  # outside the timed region: see the module docstring
        for index, raw in enumerate(corpus):
            for times, func in zip(best, funcs, strict=True):
                start = time.thread_time()
                func(raw)
                times[index] = min(times[index], time.thread_time() - start)
    return [sum(times) / len(corpus) for times in best]


def _share(right: int, total: int) -> str:
    return f"{100 * right / total:.1f}" if total else "-"


def _snapshot_line(path: Path, raw: bytes) -> str:
    """Everything ``classify`` says of one file, as a JSON line."""
    report = dataclasses.asdict(classify(raw))
    return json.dumps({"file": str(path), "report": report}, sort_keys=True)


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:.0f}" if seconds else "inf"


class Command(BaseCommand):
    help = "Benchmark classify() against flufl.bounce on the sample emails."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", metavar="PATH")
        parser.add_argument("--min-messages", type=int, default=10_000)
        parser.add_argument(
            "--no-score", action="store_true", help="measure speed only"
        )
        parser.add_argument(
            "--best-of",
            type=int,
            default=0,
            metavar="K",
            help="also print each parser's CPU time per message, the least of"
            " K turns per message (steadier on a busy machine)",
        )
        parser.add_argument(
            "--snapshot",
            metavar="FILE",
            help="write every file's full classify() result to FILE and stop",
        )
        parser.add_argument(
            "--compare",
            metavar="FILE",
            help="compare every file's classify() result with a --snapshot FILE",
        )

    def _write_snapshot(self, files: list[Path], target: str) -> None:
        with open(target, "w", encoding="utf-8") as out:
            for path in files:
                out.write(_snapshot_line(path, path.read_bytes()) + "\n")
        self.stdout.write(f"snapshot: {len(files)} files written to {target}")

    def _compare_snapshot(self, files: list[Path], source: str) -> None:
        with open(source, encoding="utf-8") as snapshot:
            expected = {
                json.loads(line)["file"]: line.rstrip("\n") for line in snapshot
            }
        differing = missing = 0
        for path in files:
            line = expected.pop(str(path), None)
            if line is None:
                missing += 1
                self.stdout.write(f"  not in the snapshot: {path}")
            elif _snapshot_line(path, path.read_bytes()) != line:
                differing += 1
                self.stdout.write(f"  differs: {path}")
        self.stdout.write(
            f"compare: {len(files)} files, {differing} differ, {missing} not in"
            f" the snapshot, {len(expected)} in the snapshot only"
        )
        if differing or missing or expected:
            raise SystemExit(1)

    def _score(self, base: Path, verbose: bool) -> dict[str, str]:
        entries = _labelled(base)
        ours, peer = scoring.Scores(), scoring.Scores()
        for entry in entries:
            raw = entry.path.read_bytes()
            ours.add(entry, scoring.predict(classify(raw)), bounce_only=False)
            peer.add(entry, _flufl_prediction(raw), bounce_only=True)
        systems = len({e.system for e in entries})
        self.stdout.write(
            f"corpus: {len(entries)} labelled files, {systems} mail systems or formats"
        )
        self.stdout.write(f"parse: {ours.summary()}")
        self.stdout.write(f"flufl.bounce: {peer.summary()} (kind: bounce or not)")
        if verbose:
            for miss in ours.misses:
                self.stdout.write(f"  parse missed {miss}")
        return {
            "kind_pct": _share(ours.kind_right, ours.kind_total),
            "recipients_exact_pct": _share(ours.exact_right, ours.files),
            "hard_pct": _share(ours.hard_right, ours.hard_total),
            "false_hard": str(ours.false_hard),
            "flufl_kind_pct": _share(peer.kind_right, peer.kind_total),
            "flufl_recipients_exact_pct": _share(peer.exact_right, peer.files),
            "flufl_hard_pct": _share(peer.hard_right, peer.hard_total),
        }

    def handle(self, *args: Any, **options: Any) -> None:
        base = Path(settings.BASE_DIR)
        logging.getLogger("flufl.bounce").disabled = True
        figures = {}
        names = options["paths"] or [str(base / d) for d in DEFAULT_DIRS]
        files = [p for p in iter_paths(names) if p.suffix not in SKIP_SUFFIXES]
        files = [p for p in files if p.name != "LICENSE"]
        if options["snapshot"] or options["compare"]:
            files = list(dict.fromkeys(files))  # overlapping paths name a file once
        if options["snapshot"]:
            self._write_snapshot(files, options["snapshot"])
            return
        if options["compare"]:
            self._compare_snapshot(files, options["compare"])
            return
        if not options["no_score"]:
            figures = self._score(base, options["verbosity"] > 1)
        corpus = [p.read_bytes() for p in files]
        if not corpus:
            self.stderr.write("No samples found.")
            return
        rounds = -(-options["min_messages"] // len(corpus))
        total = rounds * len(corpus)
        # Which copy of the parser is timed (complaints/ingest/compiled.py).
        figures["parser_compiled"] = "yes" if ingest.COMPILED else "no"
        self.stdout.write(
            "parser: "
            + ("compiled (Cython)" if ingest.COMPILED else "pure Python")
            + f" {Path(parse.__file__).name}"
        )
        # flufl.bounce logs every detector it runs; logging is not what is measured.
        logging.getLogger("flufl.bounce").disabled = True
        turns = take_turns({"parse": classify, "flufl": _flufl}, corpus, rounds)
        for key, label in (("parse", "parse"), ("flufl", "flufl.bounce")):
            wall, cpu = turns.total_wall(key), turns.total_cpu(key)
            figures[f"{key}_msgs_per_s"] = _rate(total, wall)
            figures[f"{key}_cpu_msgs_per_s"] = _rate(total, cpu)
            self.stdout.write(
                f"{label}: {total} messages in {wall:.2f} s"
                f" = {_rate(total, wall)} messages/s"
                f" (CPU {cpu:.2f} s = {_rate(total, cpu)} messages/s)"
            )
        ratios = turns.ratios("flufl", "parse")
        figures["parse_speed_ratio"] = f"{turns.median_ratio('flufl', 'parse'):.2f}"
        self.stdout.write(
            f"parse at {figures['parse_speed_ratio']}x flufl.bounce's speed"
            f" (CPU, median of {rounds} rounds taken in turns:"
            f" {', '.join(f'{r:.2f}' for r in ratios)})"
        )
        if options["best_of"] > 0:
            ours, peer = _best_of((classify, _flufl), corpus, options["best_of"])
            self.stdout.write(
                f"best of {options['best_of']} per message, CPU:"
                f" parse {ours * 1e6:.0f} us, flufl.bounce {peer * 1e6:.0f} us"
                f" per message: parse at {peer / ours:.2f}x flufl.bounce's speed"
            )

        # The convention of every bench command: the last line is key=value pairs.
        self.stdout.write(" ".join(f"{key}={value}" for key, value in figures.items()))
