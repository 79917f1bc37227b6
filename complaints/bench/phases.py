"""CPU time of each step of ``inbound_process_many``, per message, measured in the
benchmark's own process (``manage.py bench_recording``).

Wall-clock throughput with real workers moves with whatever else the machine
runs; the CPU time the worker's own Python spends per message in each step
does not, so before/after comparisons of linking and recording use this. The
steps are timed by wrapping the module functions the pipeline calls, for the
duration of a ``with timed():`` block.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from complaints.services import ingest, recording

# (figure name, module, function): what the pipeline calls, in its order.
STEPS = (
    ("parse", ingest, "classify"),
    ("link", recording, "batch_link"),
    ("complaints", recording, "complaints_record"),
    ("bounces", recording, "bounces_record"),
    ("counters", recording, "mailings_count"),
    ("policy", ingest, "mailings_policy_apply"),
)
# What issue 9's budget calls linking and recording.
LINKING_AND_RECORDING = ("link", "complaints", "bounces", "counters")


@dataclass
class Timings:
    cpu: Counter = field(default_factory=Counter)
    wall: Counter = field(default_factory=Counter)

    def per_message(self, messages: int) -> list[tuple[str, float, float]]:
        """(step, CPU µs, wall µs) per message, in pipeline order, then the sum
        of linking and recording and the whole batch."""
        rows = [
            (name, self.cpu[name] / messages * 1e6, self.wall[name] / messages * 1e6)
            for name, _module, _function in STEPS
        ]
        rows.append(
            (
                "linking+recording",
                sum(self.cpu[n] for n in LINKING_AND_RECORDING) / messages * 1e6,
                sum(self.wall[n] for n in LINKING_AND_RECORDING) / messages * 1e6,
            )
        )
        rows.append(
            (
                "total",
                self.cpu["total"] / messages * 1e6,
                self.wall["total"] / messages * 1e6,
            )
        )
        return rows


def _wrapped(function, name: str, timings: Timings):
    def timed_call(*args, **kwargs):
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            timings.cpu[name] += time.process_time() - cpu
            timings.wall[name] += time.perf_counter() - wall

    return timed_call


@contextmanager
def timed() -> Iterator[Timings]:
    """Time every step of the pipeline while the block runs."""
    timings = Timings()
    originals = [(module, fn, getattr(module, fn)) for _n, module, fn in STEPS]
    for (name, module, function), (_m, _f, original) in zip(
        STEPS, originals, strict=True
    ):
        setattr(module, function, _wrapped(original, name, timings))
    try:
        yield timings
    finally:
        for module, function, original in originals:
            setattr(module, function, original)
